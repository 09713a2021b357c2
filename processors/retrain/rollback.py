"""Automatic rollback: after a promotion, whether the new production model does worse on live windows than the
model it replaced (its parent), judged on the drift job's reports.

Pure: `RollbackPolicy` takes drift reports (`observe`) and promotions (`promoted`), and `decide(now)` returns,
per watched promotion, a rollback with its reasons and figures, a confirmation once the watch period passed,
or nothing yet. The rule: the promoted model's mean label-free estimate, or its observed accuracy (with a
minimum label count on both sides), is below the parent's by more than a tolerance, by `z` standard errors.
The parent's figures are those of its last windows (it stops reporting once replaced), whatever order the two
topics are read in; drift reports of a version exist only once it serves, so all of the promoted one's count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from processors.retrain.live import LiveFigures, compare, significant_drop
from streams.schemas import DriftReport, LiveComparison

SITE_WINDOW = "*"  # the camera name of the drift job's site-wide reports (counted once, per camera instead)


class RollbackSettings(BaseModel):
    watch_s: float = Field(6 * 3600.0, gt=0, description="How long after a promotion the new model is watched; "
                           "then the promotion is confirmed.")
    min_windows: int = Field(10, ge=2, description="Camera windows each model needs before their estimates are "
                             "compared.")
    estimated_tolerance: float = Field(0.03, ge=0, description="Largest drop of the mean label-free estimate "
                                       "below the parent's that is kept.")
    observed_tolerance: float = Field(0.03, ge=0, description="Largest drop of observed accuracy kept.")
    min_labels: int = Field(30, ge=1, description="Labelled windows each model needs before observed accuracy "
                            "is compared.")
    z: float = Field(1.645, ge=0, description="Standard errors of the difference a drop must exceed the "
                     "tolerance by (one-sided 95%), so that a few unlucky windows do not roll back a good model.")
    history_windows: int = Field(200, ge=2, description="Latest windows kept per model version.")


class Watch(BaseModel):
    """One promotion under watch."""

    request_id: str
    site: str
    version: str  # the promoted version, as drift reports name it ("<model>/<version>")
    parent: str
    promoted_at: float


class RollbackState(BaseModel):
    figures: dict[str, LiveFigures] = Field(default_factory=dict, description="model version -> live figures.")
    watches: list[Watch] = Field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    watch: Watch
    action: Literal["rollback", "confirm"]
    reasons: list[str] = field(default_factory=list)
    live: LiveComparison | None = None


class RollbackPolicy:
    def __init__(self, settings: RollbackSettings, state: RollbackState | None = None) -> None:
        self.settings = settings
        self.state = state or RollbackState()

    def observe(self, report: DriftReport) -> None:
        """One camera window's figures. Reports against the training profile only: the camera baseline's report
        of the same window carries the same estimate, and would count it twice."""
        if report.reference_kind != "training" or report.camera == SITE_WINDOW:
            return
        figures = self.state.figures.setdefault(report.model_version, LiveFigures())
        if report.estimated_accuracy is not None:
            figures.add_estimate(report.estimated_accuracy, self.settings.history_windows)
        if report.observed_accuracy is not None and report.labels:
            figures.set_observed(f"{report.site}/{report.camera}", report.labels, report.observed_accuracy)

    def promoted(self, request_id: str, site: str, version: str, parent: str, at: float) -> bool:
        """Watch a promotion: the new model is held to its parent's figures. False for a replayed promotion
        record (already watched)."""
        if any(watch.version == version for watch in self.state.watches):
            return False
        self.state.watches.append(Watch(request_id=request_id, site=site, version=version, parent=parent,
                                        promoted_at=at))
        return True

    def forget(self, version: str) -> None:
        """A rollback of `version` is on record already (read back after a restart): its watch ends."""
        self.state.watches = [watch for watch in self.state.watches if watch.version != version]

    def decide(self, now: float) -> list[Verdict]:
        """Rollbacks and confirmations due now; their watches end."""
        verdicts = []
        for watch in self.state.watches:
            verdict = self._judge(watch, now)
            if verdict is not None:
                verdicts.append(verdict)
        ended = {id(verdict.watch) for verdict in verdicts}
        self.state.watches = [watch for watch in self.state.watches if id(watch) not in ended]
        return verdicts

    def _judge(self, watch: Watch, now: float) -> Verdict | None:
        settings = self.settings
        new, old = self.state.figures.get(watch.version, LiveFigures()), self.state.figures.get(watch.parent,
                                                                                                LiveFigures())
        live = compare(new, old)
        reasons = []
        if (min(new.windows, old.windows) >= settings.min_windows and new.estimated is not None
                and old.estimated is not None):
            drop = significant_drop(new.estimated, new.estimated_stderr, old.estimated, old.estimated_stderr,
                                    settings.estimated_tolerance, settings.z)
            if drop is not None:
                reasons.append(f"label-free estimate {new.estimated:.3f} over {new.windows} windows vs "
                               f"{old.estimated:.3f} for {watch.parent}: a drop of {drop:.3f}, more than "
                               f"{settings.estimated_tolerance:.3f} beyond chance")
        if min(new.labels, old.labels) >= settings.min_labels and new.observed is not None and old.observed is not None:
            drop = significant_drop(new.observed, new.observed_stderr, old.observed, old.observed_stderr,
                                    settings.observed_tolerance, settings.z)
            if drop is not None:
                reasons.append(f"observed accuracy {new.observed:.3f} on {new.labels} labels vs {old.observed:.3f} "
                               f"on {old.labels} for {watch.parent}: a drop of {drop:.3f}, more than "
                               f"{settings.observed_tolerance:.3f} beyond chance")
        if reasons:
            return Verdict(watch, "rollback", reasons, live)
        if now - watch.promoted_at >= settings.watch_s:
            return Verdict(watch, "confirm", [f"no significant drop in {settings.watch_s:.0f} s after the "
                                              f"promotion ({new.windows} windows, {new.labels} labels)"], live)
        return None
