"""What the demo prints about the monitoring loop: drift alerts, retrain requests, candidate evaluations,
promotions or refusals, and the drifted camera's accuracy before and after. Pure functions over the loop's
messages and the window outcomes, so the lines and the figures are tested without a broker.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from actionstream.console.reports import file_prefix
from actionstream.demo_report import CameraTruth
from streams.schemas import (
    DriftReport,
    ModelComparison,
    ModelUpdate,
    RetrainRequest,
    RetrainResult,
    WindowOutcome,
)


def _clock(epoch_s: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch_s))


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


@dataclass
class LoopState:
    """The loop as the demo saw it: each camera's latest verdict, the requests, results and promotions."""

    verdicts: dict[str, str] = field(default_factory=dict)  # camera -> verdict of its latest report
    alerting: dict[str, bool] = field(default_factory=dict)  # camera -> a cause persists
    reports: dict[str, int] = field(default_factory=dict)  # camera -> reports seen
    requests: list[RetrainRequest] = field(default_factory=list)
    results: list[RetrainResult] = field(default_factory=list)
    updates: list[tuple[float, ModelUpdate]] = field(default_factory=list)  # (seen at, update)
    classified: dict[tuple[str, str], int] = field(default_factory=dict)  # (camera, version) -> windows classified

    def on_report(self, report: DriftReport) -> str | None:
        """A line when the camera's verdict against its own baseline (what the policy acts on) or its alert
        changes, the first report included; None otherwise, so a camera that stays drifted or fine does not print
        a line per window, and a scene unlike the training data but stable prints none. The alert (DRIFT ALERT)
        is the policy's verdict the report carries (a cause in k of the last m windows, accuracy drops included),
        the field the DriftRaised alert's gauge is set from: one drifted window is a status line."""
        if report.reference_kind != "camera":
            return None
        camera = report.camera
        alert = bool(report.alert_causes)
        previous = (self.verdicts.get(camera), self.alerting.get(camera))
        self.verdicts[camera], self.alerting[camera] = report.verdict, alert
        self.reports[camera] = self.reports.get(camera, 0) + 1
        if (report.verdict, alert) == previous:
            return None
        return drift_line(report, alert=alert)

    def on_request(self, request: RetrainRequest) -> str:
        self.requests.append(request)
        return request_line(request)

    def on_result(self, result: RetrainResult) -> list[str]:
        self.results.append(result)
        return result_lines(result)

    def on_update(self, update: ModelUpdate, seen_at: float) -> str:
        self.updates.append((seen_at, update))
        return (f"model update  {update.model} version {update.version} is now @{update.alias}: the selector and "
                f"classifier switch at their next window")

    def on_outcome(self, outcome: WindowOutcome) -> None:
        version = outcome.model_version.rsplit("/", 1)[-1]  # outcomes name "<registered model>/<version>"
        self.classified[outcome.camera, version] = self.classified.get((outcome.camera, version), 0) + 1

    def windows_after_promotion(self, camera: str) -> int:
        """The camera's windows the promoted model classified (0 before a promotion)."""
        promoted = self.promoted_version()
        return 0 if promoted is None else self.classified.get((camera, promoted), 0)

    def finished(self, camera: str) -> bool:
        """A candidate was promoted, or every request for `camera` so far has its result (refused or failed): the
        loop ran end to end for the drifted camera. A second cause's request of the same camera may still promote;
        another camera's refused request does not end it."""
        if any(result.outcome == "promoted" for result in self.results):
            return True
        for_camera = {request.request_id for request in self.requests if camera in request.cameras}
        return bool(for_camera) and for_camera <= {result.request_id for result in self.results}

    def promoted_version(self) -> str | None:
        promoted = [result for result in self.results if result.outcome == "promoted"]
        return promoted[-1].candidate_version if promoted else None


def drift_line(report: DriftReport, alert: bool) -> str:
    causes = ", ".join(report.causes) or "none"
    columns = ", ".join(report.drifted_columns) or "none"
    embedding = "n/a" if report.embedding_p_value is None else f"{report.embedding_p_value:.3g}"
    head = "DRIFT ALERT  " if alert else "drift status "
    persisting = f"persisting {', '.join(report.alert_causes or [])}; " if alert else ""
    return (f"{head}{report.camera} {report.verdict} (window {_clock(report.window_start)}-"
            f"{_clock(report.window_end)} vs {report.reference_kind} reference): {persisting}causes {causes}; "
            f"drifted columns {columns}; embedding p={embedding}; estimated accuracy "
            f"{_share(report.estimated_accuracy)} (reference {_share(report.reference_accuracy)}), observed "
            f"{_share(report.observed_accuracy)} "
            f"on {report.labels} labels (reference {_share(report.reference_observed_accuracy)} on "
            f"{report.reference_labels})")


def request_line(request: RetrainRequest) -> str:
    return (f"RETRAIN REQUEST {request.request_id[:8]} cause {request.cause}, cameras {', '.join(request.cameras)}, "
            f"data {_clock(request.data_start)}-{_clock(request.data_end)}, model version {request.model_version}: "
            f"{request.reason}")


def _comparison(name: str, comparison: ModelComparison | None) -> str:
    if comparison is None:
        return f"{name}: not evaluated"
    return (f"{name}: candidate {comparison.candidate_accuracy:.0%} vs production {comparison.production_accuracy:.0%}"
            f" on {comparison.examples} (gain {comparison.gain:+.0%}, only candidate right {comparison.candidate_only}"
            f", only production right {comparison.production_only}, McNemar p={comparison.p_value:.3g})")


def result_lines(result: RetrainResult) -> list[str]:
    """The candidate's evaluation, then the decision with its reasons."""
    lines = []
    if result.data is not None:
        lines.append(f"CANDIDATE     request {result.request_id[:8]}: version {result.candidate_version or 'none'} "
                     f"trained on {result.data.train_videos} videos ({result.data.labelled_videos} labelled windows "
                     f"found, {result.data.held_out_labelled} held out"
                     + (f"; {result.data.replay_videos} of the other cameras replayed, {result.data.held_out_replay}"
                        " held out" if result.data.replay_videos else "")
                     + f") in {result.timings.training_s:.0f} s, evaluated in {result.timings.evaluation_s:.0f} s")
    lines.append(f"              {_comparison('new data', result.new_data)}")
    lines.append(f"              {_comparison('base test', result.base_test)}")
    if result.other_cameras is not None:
        lines.append(f"              {_comparison('other cameras', result.other_cameras)}")
    verdict = {"promoted": "PROMOTED", "refused": "REFUSED", "failed": "FAILED", "rolled_back": "ROLLED BACK"}
    lines.append(f"{verdict.get(result.outcome, result.outcome.upper()):<13} version "
                 f"{result.candidate_version or 'none'} (production was {result.production_version or 'none'}): "
                 + "; ".join(result.reasons))
    return lines


@dataclass(frozen=True)
class AccuracyPhase:
    name: str
    correct: int
    scored: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.scored if self.scored else None

    def __str__(self) -> str:
        return f"{self.name} {_share(self.accuracy)} ({self.correct}/{self.scored})"


def camera_accuracy(outcomes: Iterable[WindowOutcome], camera: str, truth: CameraTruth, shift_at: float,
                    old_version: str, new_version: str | None, min_share: float) -> list[AccuracyPhase]:
    """The camera's accuracy on windows with a clear action truth: before the shift, after it under the old
    model, after it under the promoted one (by the model version that classified each window). A window that
    straddles the shift, or that an earlier model than `old_version` classified, is left out; an idle outcome
    on an action window counts as a miss."""
    phases = {"before the shift": [0, 0], f"shifted, version {old_version}": [0, 0]}
    if new_version is not None:
        phases[f"shifted, version {new_version} (promoted)"] = [0, 0]
    unique = {outcome.event_id: outcome for outcome in outcomes if outcome.camera == camera}
    for outcome in unique.values():
        label = truth.label_of(outcome.window_start, outcome.window_end, min_share)
        if label is None:
            continue
        version = outcome.model_version.rsplit("/", 1)[-1]  # outcomes name "<registered model>/<version>"
        if outcome.window_end <= shift_at and version == old_version:
            phase = "before the shift"
        elif outcome.window_start >= shift_at and version == old_version:
            phase = f"shifted, version {old_version}"
        elif outcome.window_start >= shift_at and version == new_version:
            phase = f"shifted, version {new_version} (promoted)"
        else:
            continue
        phases[phase][0] += outcome.label == label
        phases[phase][1] += 1
    return [AccuracyPhase(name, correct, scored) for name, (correct, scored) in phases.items()]


def accuracy_line(camera: str, phases: Sequence[AccuracyPhase]) -> str:
    return f"{camera} accuracy (windows with a clear action): " + "; ".join(str(phase) for phase in phases)


_REPORT_REST = re.compile(r"(?P<kind>camera|training)_(?P<start>\d+)-(?P<part>[A-Za-z]+)\.html")


def report_file_lines(paths: Sequence[Path], site: str, cameras: Sequence[str]) -> list[str]:
    """The run's Evidently HTML reports (named by the drift job's store: `actionstream.console.reports`, then
    "<reference kind>_<window start>-<part>.html"; written when a window's verdict changed) in a few lines: every
    window against a camera's own baseline (what the policy acts on); against the training profile a count per
    camera and the newest, since a stable scene unlike the training data can flip its verdict there every few
    windows. Files of no camera are the whole site's."""
    if not paths:
        return ["drift reports: none written in this run"]
    # The cameras' prefixes first: the site's is a prefix of each of them.
    prefixes = {**{camera: file_prefix(site, camera) for camera in cameras}, "the site": file_prefix(site, "")}
    windows: dict[tuple[str, str], dict[int, list[str]]] = {}  # (camera, kind) -> window start -> parts
    for path in paths:
        scope = next((scope for scope, prefix in prefixes.items() if path.name.startswith(prefix)), None)
        if scope is None:
            continue
        if (match := _REPORT_REST.fullmatch(path.name.removeprefix(prefixes[scope]))) is not None:
            parts = windows.setdefault((scope, match["kind"]), {}).setdefault(int(match["start"]), [])
            parts.append(match["part"])

    def files(scope: str, kind: str, start: int) -> str:
        return (f"{_clock(start)} {prefixes[scope]}{kind}_{start}-"
                f"{{{','.join(sorted(windows[scope, kind][start]))}}}.html")

    lines = [f"drift reports: {len(paths)} HTML files in {paths[0].parent}/, written when a window's verdict changed"]
    for (scope, kind), starts in sorted(windows.items()):
        if kind == "camera":
            lines.append(f"  {scope} against its own baseline: "
                         + "; ".join(files(scope, kind, start) for start in sorted(starts)))
        else:
            newest = files(scope, kind, max(starts))
            lines.append(f"  {scope} against the training profile: "
                         + (f"{len(starts)} windows, newest {newest}" if len(starts) > 1 else newest))
    return lines


def status_lines(state: LoopState, cameras: Sequence[str]) -> list[str]:
    """Each camera's latest drift verdict, in camera order."""
    return [f"drift status {camera}: {state.verdicts.get(camera, 'no report')} "
            f"({state.reports.get(camera, 0)} reports)" for camera in cameras]
