"""When drift reports become a retrain request: thresholds per site and camera, persistence (k of the last m
windows), a cool-down per site and cause, at most one open request per site, and a daily cap on retrains.

One open request per site, not per cause: one scene change shows as several causes at once (a darker camera
drifts its brightness, its embeddings and its predictions in the same window), and a request per cause trained
a second candidate on the same evidence after the first was promoted (the demo: v15 promoted, v16 refused at
McNemar p=0.125) and spent the daily cap of 2 on one shift. A retrain covers the site's drifted cameras whatever
the cause; a cause that still persists once it closes requests then.

Pure: `RetrainPolicy.observe(report, now)` returns a decision; its state is a pydantic model the job can store
and restore, so a restarted job does not request again what is still open.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from streams.schemas import DriftReport, RetrainCause, RetrainEvidence, RetrainRequest

DAY_S = 86_400.0
ALL_CAUSES: list[RetrainCause] = list(get_args(RetrainCause))
REQUEST_ID_NAMESPACE = uuid.UUID("9a7d2e41-0c3b-4f65-8d1e-6b2f5c9e0a74")


class PolicyRules(BaseModel):
    """What bad performance is for one camera; site and camera overrides replace single fields."""

    reference_kind: Literal["training", "camera"] = Field(
        "camera", description="Reports against this reference count: the camera's baseline by default, so a camera "
        "that differs from the training data but is stable does not alarm every window.")
    causes: list[RetrainCause] = Field(default_factory=lambda: list(ALL_CAUSES),
                                       description="Causes that may request a retrain.")
    share_drifted: float = Field(0.3, gt=0, le=1, description="Data drift: share of drifted quality columns.")
    embedding_p_value: float = Field(0.01, gt=0, lt=1, description="Embedding drift: MMD permutation p-value below.")
    estimated_drop: float = Field(0.05, gt=0, description="Estimated accuracy this far below the reference accuracy.")
    estimate_z: float = Field(1.645, ge=0, description="The estimated drop counts only when it exceeds "
                              "`estimated_drop` by this many standard errors of the window's estimate (one-sided "
                              "95%): a window's few outcomes move the estimate by several points by chance alone "
                              "(bench drift: 3 alerts per 1,000 control windows without it).")
    observed_drop: float = Field(0.05, gt=0, description="Observed accuracy this far below the reference's "
                                 "observed accuracy (never below an estimate: an overconfident estimate of 93% "
                                 "against 72% observed made an unshifted demo camera request a retrain).")
    observed_z: float = Field(1.645, ge=0, description="The observed drop counts only when it exceeds "
                              "`observed_drop` by this many standard errors of the difference of the two "
                              "accuracies, both binomial (one-sided 95%): on 30-80 labels each side swings by 5-9 "
                              "points by chance (the demo's unshifted cameras raised requests on such swings).")
    min_labels: int = Field(30, ge=1, description="Fewer labelled windows on either side (the reference's or the "
                            "window's): the observed accuracy is not used.")
    persistence_k: int = Field(3, ge=1, description="A cause must hold in k of the last m windows of a camera.")
    persistence_m: int = Field(5, ge=1)
    cooldown_s: float = Field(6 * 3600.0, ge=0, description="No new request for a site and cause this long after "
                              "the last one.")
    open_expiry_s: float = Field(DAY_S, gt=0, description="An open request never closed counts as closed after "
                                 "this long (a lost retrain result must not block the cause for ever).")


class PolicySettings(BaseModel):
    defaults: PolicyRules = Field(default_factory=PolicyRules)
    sites: dict[str, dict[str, Any]] = Field(default_factory=dict, description="site -> rule overrides.")
    cameras: dict[str, dict[str, Any]] = Field(default_factory=dict, description="site/camera -> rule overrides.")
    max_retrains_per_day: int = Field(2, ge=0, description="Requests in any 24 h, all sites and causes together.")

    def rules(self, site: str, camera: str) -> PolicyRules:
        overrides = {**self.sites.get(site, {}), **self.cameras.get(f"{site}/{camera}", {})}
        return PolicyRules.model_validate({**self.defaults.model_dump(), **overrides}) if overrides else self.defaults


class WindowFlags(BaseModel):
    report_id: str
    window_start: float
    window_end: float
    evidence: dict[RetrainCause, RetrainEvidence]


class OpenRequest(BaseModel):
    request_id: str
    at: float


class PolicyState(BaseModel):
    history: dict[str, list[WindowFlags]] = Field(default_factory=dict, description="site/camera -> last m windows.")
    open: dict[str, OpenRequest] = Field(default_factory=dict, description="site/cause -> open request.")
    last_request: dict[str, float] = Field(default_factory=dict, description="site/cause -> time of the last one.")
    requested_at: list[float] = Field(default_factory=list, description="Times of the requests of the last 24 h.")


@dataclass
class RetrainDecision:
    requests: list[RetrainRequest] = field(default_factory=list)
    held: dict[RetrainCause, str] = field(default_factory=dict)  # cause -> why no request (yet)
    assessed: bool = False  # the report is of the reference kind the policy acts on
    # Causes that hold in k of the camera's last m windows: the camera's drift alert. One window over a threshold
    # is what a detector does at its false-positive rate; persistence is what tells a change from noise.
    persisting: list[RetrainCause] = field(default_factory=list)

    @property
    def publish(self) -> bool:
        return bool(self.requests)


def window_flags(report: DriftReport, rules: PolicyRules) -> WindowFlags:
    """The causes one report shows under the rules, each with the figure that crossed."""
    found: dict[RetrainCause, RetrainEvidence] = {}

    def flag(cause: RetrainCause, metric: str, value: float, threshold: float) -> None:
        found[cause] = RetrainEvidence(camera=report.camera, report_id=report.report_id, metric=metric,
                                       value=value, threshold=threshold)

    if report.frames and report.share_drifted >= rules.share_drifted:
        flag("data_drift", "share_drifted", report.share_drifted, rules.share_drifted)
    if report.embedding_p_value is not None and report.embedding_p_value < rules.embedding_p_value:
        flag("embedding_drift", "embedding_p_value", report.embedding_p_value, rules.embedding_p_value)
    if "prediction_drift" in report.causes:
        worst = min((score for score in report.scores if score.column in ("label", "confidence") and score.drifted),
                    key=lambda score: score.score)
        flag("prediction_drift", f"{worst.column}:{worst.test}", worst.score, worst.threshold)
    if report.reference_accuracy is not None and report.estimated_accuracy is not None:
        drop = report.reference_accuracy - report.estimated_accuracy
        margin = rules.estimate_z * (report.estimated_accuracy_stderr or 0.0)
        if drop - margin >= rules.estimated_drop:
            flag("estimated_accuracy_drop", "estimated_accuracy_drop", drop, rules.estimated_drop + margin)
    reference_observed = report.reference_observed_accuracy
    if (reference_observed is not None and report.observed_accuracy is not None
            and min(report.labels, report.reference_labels) >= rules.min_labels):
        drop = reference_observed - report.observed_accuracy
        margin = rules.observed_z * math.sqrt(_binomial_variance(reference_observed, report.reference_labels)
                                              + _binomial_variance(report.observed_accuracy, report.labels))
        if drop - margin >= rules.observed_drop:
            flag("observed_accuracy_drop", "observed_accuracy_drop", drop, rules.observed_drop + margin)
    return WindowFlags(report_id=report.report_id, window_start=report.window_start, window_end=report.window_end,
                       evidence={cause: evidence for cause, evidence in found.items() if cause in rules.causes})


def _binomial_variance(accuracy: float, labels: int) -> float:
    return accuracy * (1.0 - accuracy) / labels


class RetrainPolicy:
    def __init__(self, settings: PolicySettings, state: PolicyState | None = None) -> None:
        self.settings = settings
        self.state = state or PolicyState()

    def observe(self, report: DriftReport, now: float) -> RetrainDecision:
        rules = self.settings.rules(report.site, report.camera)
        decision = RetrainDecision()
        if report.reference_kind != rules.reference_kind:
            return decision
        decision.assessed = True
        camera_key = f"{report.site}/{report.camera}"
        history = [*self.state.history.get(camera_key, []), window_flags(report, rules)][-rules.persistence_m:]
        self.state.history[camera_key] = history
        decision.persisting = [cause for cause in history[-1].evidence
                               if sum(cause in window.evidence for window in history) >= rules.persistence_k]
        self.state.requested_at = [at for at in self.state.requested_at if now - at < DAY_S]
        for cause in history[-1].evidence:
            held = self._held(report.site, cause, history, rules, now)
            if held:
                decision.held[cause] = held
            else:
                decision.requests.append(self._request(report, cause, now))
        return decision

    def restart_windows(self) -> None:
        """A new model serves: windows of the old one no longer count towards persistence (open requests,
        cool-downs and the daily cap stay)."""
        self.state.history = {}

    def close(self, request_id: str) -> None:
        """The retrain worker finished the request (promoted, refused or failed): its cause may request again
        once the cool-down has passed."""
        self.state.open = {key: value for key, value in self.state.open.items() if value.request_id != request_id}

    def _held(self, site: str, cause: RetrainCause, history: list[WindowFlags], rules: PolicyRules,
              now: float) -> str | None:
        count = sum(cause in window.evidence for window in history)
        if count < rules.persistence_k:
            return f"persistence: {count} of the last {len(history)} windows, {rules.persistence_k} needed"
        key = f"{site}/{cause}"
        for open_key, opened in self.state.open.items():
            if open_key.startswith(f"{site}/") and now - opened.at < rules.open_expiry_s:
                return f"request {opened.request_id} for {open_key} is still open"
        last = self.state.last_request.get(key)
        if last is not None and now - last < rules.cooldown_s:
            return f"cool-down: last request for {key} {now - last:.0f} s ago, {rules.cooldown_s:.0f} s needed"
        if len(self.state.requested_at) >= self.settings.max_retrains_per_day:
            return f"daily cap: {len(self.state.requested_at)} requests in the last 24 h"
        return None

    def _request(self, report: DriftReport, cause: RetrainCause, now: float) -> RetrainRequest:
        """One request for the site and cause, covering every camera of the site where the cause persists."""
        windows: list[WindowFlags] = []
        cameras = []
        for camera_key, history in sorted(self.state.history.items()):
            site, camera = camera_key.split("/", 1)
            rules = self.settings.rules(site, camera)
            flagged = [window for window in history if cause in window.evidence]
            if site == report.site and len(flagged) >= rules.persistence_k:
                cameras.append(camera)
                windows.extend(flagged)
        key = f"{report.site}/{cause}"
        request_id = str(uuid.uuid5(REQUEST_ID_NAMESPACE, f"{key}/{report.report_id}"))
        self.state.open[key] = OpenRequest(request_id=request_id, at=now)
        self.state.last_request[key] = now
        self.state.requested_at.append(now)
        evidence = [window.evidence[cause] for window in windows]
        return RetrainRequest(
            request_id=request_id, site=report.site, cause=cause,
            reason=(f"{cause} on {len(cameras)} camera(s) ({', '.join(cameras)}): "
                    f"{evidence[-1].metric} {evidence[-1].value:.4g} vs threshold {evidence[-1].threshold:.4g} in "
                    f"{len(windows)} recent windows"),
            evidence=evidence, report_ids=[window.report_id for window in windows], cameras=cameras,
            data_start=min(window.window_start for window in windows),
            data_end=max(window.window_end for window in windows),
            model_version=report.model_version, requested_at=now,
        )
