"""What the demo prints: one line per action event and the final summary, scored against the synthetic truth:
event-level (actionstream/event_scoring.py: recall, precision, detection delay) first, then per window, and a
last JSON line for scripts.

Pure functions over explicit inputs (events, counts, each camera's timeline and publish time), so the
accuracy and the percentiles are tested without a broker.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from actionstream.event_scoring import (
    EventBreakdown,
    EventScore,
    ShiftPhases,
    breakdown,
    covered_actions,
    score_events,
)
from streams.schemas import ActionEvent


@dataclass(frozen=True)
class Burst:
    """Where one action is visible in a feed, seconds from its first frame."""

    start_s: float
    end_s: float
    label: str


@dataclass(frozen=True)
class CameraTruth:
    """The synthetic truth of one camera: its looping feed's bursts and when the loop started (epoch s).

    The publisher loops the file in real time from `origin`, so capture time t shows feed time
    (t - origin) mod duration (give or take the RTSP buffering, well under a second).
    """

    bursts: tuple[Burst, ...]
    duration_s: float
    origin: float

    @classmethod
    def from_timeline(cls, path: Path, origin: float) -> CameraTruth:
        """From the timeline JSON that training.synth_feed.write_camera_feed writes beside each feed."""
        timeline = json.loads(path.read_text())
        bursts = tuple(
            Burst(float(segment["burst_start_s"]), float(segment["burst_end_s"]), str(segment["label"]))
            for segment in timeline["segments"]
        )
        return cls(bursts, float(timeline["duration_s"]), origin)

    def label_of(self, window_start: float, window_end: float, min_share: float) -> str | None:
        """The action shown in the window: the label with most burst time inside it (the frames between
        bursts show no action), or None when no burst overlaps or no label holds `min_share` of it."""
        start, end = window_start - self.origin, window_end - self.origin
        shown: Counter[str] = Counter()
        for loop in range(math.floor(start / self.duration_s), math.floor(end / self.duration_s) + 1):
            shift = loop * self.duration_s
            for burst in self.bursts:
                overlap = min(end, burst.end_s + shift) - max(start, burst.start_s + shift)
                if overlap > 0:
                    shown[burst.label] += overlap
        if not shown:
            return None
        label, seconds = shown.most_common(1)[0]
        return label if seconds >= min_share * sum(shown.values()) else None


@dataclass(frozen=True)
class TopicCounts:
    """Records the run left on the platform's topics (from the demo's start on)."""

    frames: int
    clips: int
    windows: int  # distinct clip ids: a redelivered clip counts once
    deadletters: dict[str, int] = field(default_factory=dict)  # per stage
    outcomes: dict[str, int] = field(default_factory=dict)  # per kind: action, idle
    incidents: int = 0  # distinct incidents with a record in the run
    incidents_ended: int = 0
    labels: int = 0  # published by the demo's labeller
    covered: dict[str, tuple[float, float]] = field(default_factory=dict)  # per camera: first start, last end


@dataclass(frozen=True)
class Percentiles:
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Percentiles | None:
        if not seconds:
            return None
        p50, p99 = np.percentile(np.asarray(seconds) * 1000.0, [50, 99])
        return cls(float(p50), float(p99))

    def __str__(self) -> str:
        return f"p50={self.p50_ms:.0f}ms p99={self.p99_ms:.0f}ms"


@dataclass(frozen=True)
class DemoSummary:
    cameras: int
    seconds: float
    counts: TopicCounts
    events: int
    carried_over: int  # events of windows an earlier run left open (restored from the changelog), not scored
    scored: int  # events with a clear truth
    correct: int
    unclear: int  # events whose window shows no single action (excluded from the accuracy)
    processing: Percentiles | None
    end_to_end: Percentiles | None
    event_score: EventScore
    breakdown: EventBreakdown
    shift: ShiftPhases | None = None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.scored if self.scored else None

    def _event_lines(self) -> list[str]:
        score = self.event_score
        recall = "n/a" if score.recall is None else f"{score.recall:.1%}"
        precision = "n/a" if score.precision is None else f"{score.precision:.1%}"
        delays = score.delay_percentiles_s()
        first = "n/a" if score.first_event_delay_s is None else _from_window_end(score.first_event_delay_s)
        return [
            f"recall={recall} ({score.reported}/{score.actions} true actions reported) precision={precision} "
            f"({score.true_events}/{score.true_events + score.false_events} reported actions real; "
            f"{score.unclear_events} at the edge of an action counted apart)",
            "detection delay after the action's end "
            + ("n/a" if delays is None else f"p50={delays[0]:.1f}s p99={delays[1]:.1f}s")
            + f"; first event {first}",
            "per camera: " + "; ".join(f"{camera} {_recall_precision(part)}"
                                       for camera, part in self.breakdown.per_camera.items()),
            *self._shift_lines(),
        ]

    def _shift_lines(self) -> list[str]:
        if self.shift is None or not self.breakdown.phases:
            return []
        others = self.breakdown.others
        return [f"{self.shift.camera} per phase: " + "; ".join(
                    f"{self.shift.phase_name(key)} {_recall_precision(part)}"
                    for key, part in self.breakdown.phases.items()),
                f"without {self.shift.camera}'s shifted windows: {_recall_precision(self.breakdown.unshifted)}",
                *(["the other cameras: " + "; ".join(f"{self.shift.others_phase_name(key)} {_recall_precision(part)}"
                                                     for key, part in others.items())] if others else [])]

    def json_line(self) -> str:
        """The summary's figures as one JSON object, for scripts."""
        score, delays = self.event_score, self.event_score.delay_percentiles_s()

        def rounded(value: float | None, digits: int) -> float | None:
            return None if value is None else round(value, digits)

        return json.dumps({
            "cameras": self.cameras, "seconds": round(self.seconds, 1), "frames": self.counts.frames,
            "windows": self.counts.windows, "events": self.events,
            "recall": rounded(score.recall, 4), "precision": rounded(score.precision, 4),
            "true_actions": score.actions, "reported_actions": score.reported, "true_events": score.true_events,
            "false_events": score.false_events, "unclear_events": score.unclear_events,
            "detection_delay_p50_s": rounded(delays[0], 3) if delays else None,
            "detection_delay_p99_s": rounded(delays[1], 3) if delays else None,
            "first_event_delay_s": rounded(score.first_event_delay_s, 3),
            "window_accuracy": rounded(self.accuracy, 4),
            "processing_p50_ms": rounded(self.processing.p50_ms if self.processing else None, 1),
            "processing_p99_ms": rounded(self.processing.p99_ms if self.processing else None, 1),
            "end_to_end_p99_ms": rounded(self.end_to_end.p99_ms if self.end_to_end else None, 1),
            "outcomes": self.counts.outcomes, "deadletters": sum(self.counts.deadletters.values()),
            "recall_unshifted": rounded(self.breakdown.unshifted.recall, 4),
            "precision_unshifted": rounded(self.breakdown.unshifted.precision, 4),
            "per_camera": {camera: _part_figures(part) for camera, part in self.breakdown.per_camera.items()},
            "shifted_camera": None if self.shift is None else {
                "camera": self.shift.camera, "old_version": self.shift.old_version,
                "new_version": self.shift.new_version,
                **{key: _part_figures(part) for key, part in self.breakdown.phases.items()}},
            "other_cameras": {key: _part_figures(part) for key, part in self.breakdown.others.items()} or None,
        })

    def lines(self) -> list[str]:
        accuracy = "n/a" if self.accuracy is None else f"{self.accuracy:.1%}"
        dead = sum(self.counts.deadletters.values())
        stages = ", ".join(f"{stage}={count}" for stage, count in sorted(self.counts.deadletters.items()))
        return [
            f"cameras={self.cameras} seconds={self.seconds:.0f} frames={self.counts.frames} "
            f"windows={self.counts.windows} clips={self.counts.clips} events={self.events}"
            + (f" (and {self.carried_over} of windows an earlier run left open)" if self.carried_over else ""),
            *self._event_lines(),
            f"window accuracy={accuracy} ({self.correct}/{self.scored} events with a clear truth; "
            f"{self.unclear} windows without one excluded)",
            f"latency processing {self.processing or 'n/a'}; end-to-end {self.end_to_end or 'n/a'}",
            f"outcomes={sum(self.counts.outcomes.values())} ("
            + (", ".join(f"{kind}={count}" for kind, count in sorted(self.counts.outcomes.items())) or "none")
            + f") incidents={self.counts.incidents} (ended {self.counts.incidents_ended}) labels={self.counts.labels}",
            f"deadletters={dead}" + (f" ({stages})" if stages else ""),
        ]


def _recall_precision(score: EventScore) -> str:
    recall = "n/a" if score.recall is None else f"{score.recall:.0%}"
    precision = "n/a" if score.precision is None else f"{score.precision:.0%}"
    return (f"recall {recall} ({score.reported}/{score.actions}) precision {precision} "
            f"({score.true_events}/{score.true_events + score.false_events})")


def _part_figures(score: EventScore) -> dict[str, float | int | None]:
    return {"recall": None if score.recall is None else round(score.recall, 4),
            "precision": None if score.precision is None else round(score.precision, 4),
            "true_actions": score.actions, "reported_actions": score.reported,
            "true_events": score.true_events, "false_events": score.false_events}


def truth_of(event: ActionEvent, truths: dict[str, CameraTruth], min_share: float) -> str | None:
    truth = truths.get(event.camera)
    return truth.label_of(event.window_start, event.window_end, min_share) if truth else None


def from_earlier_run(event: ActionEvent, since: float) -> bool:
    """Whether the window holds frames captured before `since`: a window an earlier run left open, restored
    from the changelog and closed by this run's frames."""
    return min((frame.capture_time for frame in event.frames), default=event.window_start) < since


def summarize(
    events: Sequence[ActionEvent], truths: dict[str, CameraTruth], counts: TopicCounts, since: float, seconds: float,
    min_share: float, min_overlap_s: float = 0.25, shift: ShiftPhases | None = None,
) -> DemoSummary:
    """The events of this run's windows, deduplicated by id (the classifier's exactly-once
    makes this a no-op, but a summary must not count a redelivery twice); windows an earlier run left open
    close in this one and are only counted. The accuracy covers the events whose window has a clear truth;
    the event-level score the true actions inside each camera's covered span (`counts.covered`), an event
    matching one when its window overlaps it by `min_overlap_s`; split per camera and, with a scene `shift`, over
    the shifted camera's phases."""
    unique = list({event.event_id: event for event in events}.values())
    ours = [event for event in unique if not from_earlier_run(event, since)]
    labels = [(event.label, truth_of(event, truths, min_share)) for event in ours]
    scored = [(label, truth) for label, truth in labels if truth is not None]
    judged = [event for event in ours if event.camera in truths]
    actions = covered_actions(truths, counts.covered)
    return DemoSummary(
        cameras=len(truths), seconds=seconds, counts=counts, events=len(ours), carried_over=len(unique) - len(ours),
        scored=len(scored), correct=sum(label == truth for label, truth in scored), unclear=len(labels) - len(scored),
        processing=Percentiles.of([event.latency.processing for event in ours]),
        end_to_end=Percentiles.of([event.latency.end_to_end for event in ours]),
        event_score=score_events(judged, actions, min_overlap_s),
        breakdown=breakdown(judged, actions, min_overlap_s, sorted(truths), shift), shift=shift,
    )


def verdict_of(event: ActionEvent, truths: dict[str, CameraTruth], since: float, min_share: float) -> str:
    if from_earlier_run(event, since):
        return "window of an earlier run"
    truth = truth_of(event, truths, min_share)
    return "no clear truth" if truth is None else ("ok" if truth == event.label else f"truth {truth}")


def event_line(event: ActionEvent, verdict: str) -> str:
    """Camera, window (capture time), label, confidence, how it scores against the truth, and its latency: from
    the window's end (processing; before it when the last slot's frame closed the window early) and after the
    capture of its last selected frame (end-to-end, up to a window longer: that frame may lie early in the
    window)."""
    start = time.strftime("%H:%M:%S", time.localtime(event.window_start))
    processing_ms = round(event.latency.processing * 1000)
    processing = (f"{-processing_ms} ms before the window's end" if processing_ms < 0
                  else f"processing {processing_ms} ms")
    return (
        f"{event.camera:<6} {start}+{event.window_end - event.window_start:.0f}s {event.label:<12} "
        f"{event.confidence:.2f}  [{verdict}]  {processing}, end-to-end {event.latency.end_to_end * 1000:.0f} ms"
    )


def _from_window_end(seconds: float) -> str:
    """When an event came, from its window's end: a window closes with the frame of its last sampling slot, so a
    fast stream publishes some events before the window's nominal end."""
    if seconds < 0:
        return f"{-seconds:.2f}s before its window's end"
    return f"{seconds:.1f}s after its window's end"
