"""Event-level scoring of the demo: was each true action reported, was each reported action real, how late.

A window-level accuracy asks what each window shows; a person watching a camera asks whether the platform
told them about each action, and only about real ones. Here a true action is one burst of a camera's timeline
(idle stretches have none); an action event matches it when its window overlaps the burst by at least
`min_overlap_s` and names its label. Pure functions over explicit inputs, tested without a broker.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:  # demo_report builds its summary from this module
    from actionstream.demo_report import CameraTruth
    from streams.schemas import ActionEvent, WindowOutcome

EventVerdict = Literal["true", "false", "unclear"]


@dataclass(frozen=True)
class TrueAction:
    """One action a camera showed: its burst in capture time (epoch seconds)."""

    camera: str
    label: str
    start: float
    end: float

    def overlap(self, window_start: float, window_end: float) -> float:
        return max(0.0, min(self.end, window_end) - max(self.start, window_start))


def true_actions(camera: str, truth: CameraTruth, start: float, end: float) -> list[TrueAction]:
    """The bursts of `camera`'s looping feed that lie wholly in [start, end] (epoch seconds), in time order;
    bursts cut by either edge are left out (the stream could not have seen them whole)."""
    found = []
    first_loop = math.floor((start - truth.origin) / truth.duration_s)
    last_loop = math.floor((end - truth.origin) / truth.duration_s)
    for loop in range(first_loop, last_loop + 1):
        shift = truth.origin + loop * truth.duration_s
        for burst in truth.bursts:
            action = TrueAction(camera, burst.label, burst.start_s + shift, burst.end_s + shift)
            if action.end > action.start and start <= action.start and action.end <= end:
                found.append(action)
    return sorted(found, key=lambda action: action.start)


def verdict(event: ActionEvent, actions: Sequence[TrueAction], min_overlap_s: float) -> EventVerdict:
    """true: the window clearly overlaps an action of its label; unclear: it touches actions only at its edges
    (less than `min_overlap_s`), so no clear truth; false: an idle stretch or another action."""
    overlaps = [(action, action.overlap(event.window_start, event.window_end)) for action in actions
                if action.camera == event.camera]
    if any(action.label == event.label and seconds >= min_overlap_s for action, seconds in overlaps):
        return "true"
    touched = [seconds for _, seconds in overlaps if seconds > 0]
    return "unclear" if touched and max(touched) < min_overlap_s else "false"


@dataclass(frozen=True)
class EventScore:
    actions: int  # true actions the stream covered
    reported: int  # of them, reported by at least one matching event
    true_events: int
    false_events: int
    unclear_events: int  # windows that only touch actions at their edges: counted apart
    detection_delays_s: tuple[float, ...]  # per reported action: first matching event's publish - action end
    first_event_delay_s: float | None  # the run's first event: publish - window end

    @property
    def recall(self) -> float | None:
        return self.reported / self.actions if self.actions else None

    @property
    def precision(self) -> float | None:
        judged = self.true_events + self.false_events
        return self.true_events / judged if judged else None

    def delay_percentiles_s(self) -> tuple[float, float] | None:
        if not self.detection_delays_s:
            return None
        p50, p99 = np.percentile(self.detection_delays_s, [50, 99])
        return float(p50), float(p99)


def score_events(events: Sequence[ActionEvent], actions: Sequence[TrueAction], min_overlap_s: float) -> EventScore:
    """Score this run's action events (deduplicated, from the run's own windows) against the true actions
    the stream covered."""
    verdicts = [verdict(event, actions, min_overlap_s) for event in events]
    delays = []
    for action in actions:
        matching = [event.published_at for event in events if event.camera == action.camera
                    and event.label == action.label
                    and action.overlap(event.window_start, event.window_end) >= min_overlap_s]
        if matching:
            delays.append(min(matching) - action.end)
    first = min(events, key=lambda event: event.published_at, default=None)
    return EventScore(
        actions=len(actions), reported=len(delays), true_events=verdicts.count("true"),
        false_events=verdicts.count("false"), unclear_events=verdicts.count("unclear"),
        detection_delays_s=tuple(delays),
        first_event_delay_s=None if first is None else first.published_at - first.window_end,
    )


def covered_actions(truths: Mapping[str, CameraTruth], covered: Mapping[str, tuple[float, float]]) -> list[TrueAction]:
    """The true actions inside each camera's covered span (first window start to last window end of its
    outcomes): what the stream had a chance to report."""
    return [action for camera, (start, end) in sorted(covered.items()) if camera in truths
            for action in true_actions(camera, truths[camera], start, end)]


@dataclass(frozen=True)
class Span:
    """A stretch of capture time [start, end) (epoch s): an action or a window counts in it when wholly inside."""

    start: float = -math.inf
    end: float = math.inf

    def holds(self, start: float, end: float) -> bool:
        return self.start <= start and end <= self.end


def score_part(events: Sequence[ActionEvent], actions: Sequence[TrueAction], min_overlap_s: float, camera: str,
               span: Span = Span()) -> EventScore:
    """One camera's score over a span: recall over its actions inside the span (an event reaching in from
    outside still reports one), precision over its events whose window lies inside (judged against all its
    actions). The first-event delay is the whole run's, so it is left out here."""
    ours = [event for event in events if event.camera == camera]
    theirs = [action for action in actions if action.camera == camera]
    recall = score_events(ours, [action for action in theirs if span.holds(action.start, action.end)], min_overlap_s)
    judged = score_events([event for event in ours if span.holds(event.window_start, event.window_end)], theirs,
                          min_overlap_s)
    return EventScore(recall.actions, recall.reported, judged.true_events, judged.false_events,
                      judged.unclear_events, recall.detection_delays_s, None)


def combined(scores: Sequence[EventScore]) -> EventScore:
    """Parts scored apart (disjoint actions and events) as one score."""
    return EventScore(sum(score.actions for score in scores), sum(score.reported for score in scores),
                      sum(score.true_events for score in scores), sum(score.false_events for score in scores),
                      sum(score.unclear_events for score in scores),
                      tuple(delay for score in scores for delay in score.detection_delays_s), None)


@dataclass(frozen=True)
class ShiftPhases:
    """The demo's scene shift on one camera and the model versions around it: the camera's windows before the
    shift, after it under the model it started with, and after the promoted model took over (from the first
    window it classified)."""

    camera: str
    shift_at: float
    old_version: str
    new_version: str | None = None
    promoted_at: float | None = None  # window start of the first window the promoted model classified
    # The other cameras' switch to the promoted model: window starts of the first and the last camera's first
    # promoted window (each switches at its own next window); None: none switched.
    others_switched: tuple[float, float] | None = None

    def spans(self) -> dict[str, Span]:
        """Phase key -> span; a window or action straddling a boundary is in none."""
        takeover = math.inf if self.promoted_at is None else max(self.promoted_at, self.shift_at)
        spans = {"before_shift": Span(end=self.shift_at), "shifted_old_model": Span(self.shift_at, takeover)}
        if self.promoted_at is not None:
            spans["after_promotion"] = Span(start=takeover)
        return spans

    def others_spans(self) -> dict[str, Span]:
        """The other cameras' phases: under the old model, under the promoted one (windows in between in none)."""
        if self.others_switched is None:
            return {}
        first, last = self.others_switched
        return {"before_promotion": Span(end=first), "after_promotion": Span(start=last)}

    def others_phase_name(self, key: str) -> str:
        return {"before_promotion": f"version {self.old_version}",
                "after_promotion": f"version {self.new_version} (promoted)"}[key]

    def phase_name(self, key: str) -> str:
        return {"before_shift": "before the shift", "shifted_old_model": f"shifted, version {self.old_version}",
                "after_promotion": f"shifted, version {self.new_version} (promoted)"}[key]


def promoted_at(outcomes: Iterable[WindowOutcome], camera: str, new_version: str | None) -> float | None:
    """The window start of the camera's first window the promoted version classified (outcomes name their model
    '<registered model>/<version>'); None without a promotion or before it classified any."""
    starts = [outcome.window_start for outcome in outcomes if outcome.camera == camera and new_version is not None
              and outcome.model_version.rsplit("/", 1)[-1] == new_version]
    return min(starts, default=None)


@dataclass(frozen=True)
class EventBreakdown:
    """The headline split: per camera, the shifted camera per phase, and every camera without the shifted
    camera's windows after its shift (what the model does on the scenes it was trained for)."""

    per_camera: dict[str, EventScore]
    phases: dict[str, EventScore]  # phase key (ShiftPhases.spans) -> the shifted camera's score; empty: no shift
    unshifted: EventScore
    # phase key (ShiftPhases.others_spans) -> the other cameras' score: what the promotion did to the scenes that
    # did not change; empty: no promotion reached them
    others: dict[str, EventScore] = field(default_factory=dict)


def breakdown(events: Sequence[ActionEvent], actions: Sequence[TrueAction], min_overlap_s: float,
              cameras: Sequence[str], shift: ShiftPhases | None) -> EventBreakdown:
    per_camera = {camera: score_part(events, actions, min_overlap_s, camera) for camera in cameras}
    if shift is None or shift.camera not in per_camera:
        return EventBreakdown(per_camera, {}, combined(list(per_camera.values())))
    phases = {key: score_part(events, actions, min_overlap_s, shift.camera, span)
              for key, span in shift.spans().items()}
    others = [score for camera, score in per_camera.items() if camera != shift.camera]
    by_model = {key: combined([score_part(events, actions, min_overlap_s, camera, span)
                               for camera in cameras if camera != shift.camera])
                for key, span in shift.others_spans().items()}
    return EventBreakdown(per_camera, phases, combined([*others, phases["before_shift"]]), by_model)
