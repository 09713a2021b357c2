"""Event-level scoring of the demo: was each true action reported, was each reported action real, how late.

A window-level accuracy asks what each window shows; a person watching a camera asks whether the platform
told them about each action, and only about real ones. Here a true action is one burst of a camera's timeline
(idle stretches have none); an action event matches it when its window overlaps the burst by at least
`min_overlap_s` and names its label. Pure functions over explicit inputs, tested without a broker.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:  # demo_report builds its summary from this module
    from actionstream.demo_report import CameraTruth
    from streams.schemas import ActionEvent

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
