"""`bench pipeline`'s accounting of one trial, without Kafka: the windows the published frames call for, what a
read_committed subscriber saw of them, and whether the camera count K holds in real time.

Expected windows come from the frames the adapter published (every window on the hop grid holding at least
`min_frames` of them), not from the clips stage 2 happened to make, so a window stage 2 never closed is lost.
Duplicates are counted per (camera, window). Latency is the subscriber's receive time minus the window end.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from streams.schemas import WindowOutcome

WindowKey = tuple[str, int]  # (camera, window start / hop): exact, where float starts are not


@dataclass(frozen=True)
class WindowGrid:
    window_s: float
    hop_s: float
    min_frames: int

    def key(self, camera: str, start: float) -> WindowKey:
        return camera, round(start / self.hop_s)

    def starts_holding(self, capture_time: float) -> range:
        """Grid indices of the windows [k*H, k*H + W) that contain the capture time."""
        return range(math.floor((capture_time - self.window_s) / self.hop_s) + 1,
                     math.floor(capture_time / self.hop_s) + 1)


def expected_windows(captures: Iterable[tuple[str, float]], grid: WindowGrid) -> set[WindowKey]:
    """The windows the published frames (camera, capture time) call for: every one holding `min_frames`."""
    frames_per_window: Counter[WindowKey] = Counter()
    for camera, capture_time in captures:
        for index in grid.starts_holding(capture_time):
            frames_per_window[camera, index] += 1
    return {key for key, count in frames_per_window.items() if count >= grid.min_frames}


@dataclass(frozen=True)
class SeenOutcome:
    """A window outcome and the wall-clock time the bench's read_committed subscriber received it."""

    outcome: WindowOutcome
    seen_at: float


@dataclass(frozen=True)
class TrialWindow:
    """The part of a trial that counts: windows ending in [counted_from, counted_until] are timed (earlier ones
    meet workers warming up, later ones close as idle once the cameras stop, by design late)."""

    counted_from: float
    counted_until: float

    def counts(self, window_end: float) -> bool:
        return self.counted_from <= window_end <= self.counted_until


@dataclass(frozen=True)
class TrialResult:
    cameras: int
    processing_p50_ms: float
    processing_p99_ms: float
    end_to_end_p50_ms: float
    end_to_end_p99_ms: float
    expected_windows: int
    outcomes: int
    lost: int
    duplicates: int
    unexpected: int  # outcomes for windows the published frames do not call for
    shed: int  # of the timed windows
    shed_fraction: float  # of the timed windows
    lag_growth_s: dict[str, float]  # per stage: growth of its consumer lag, in seconds of its input


def percentile_ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else float("nan")


def trial_result(cameras: int, expected: set[WindowKey], seen: list[SeenOutcome], grid: WindowGrid,
                 span: TrialWindow, lag_growth_s: Mapping[str, float]) -> TrialResult:
    """Latencies and shedding over the timed windows; losses and duplicates over every expected window."""
    per_window = Counter(grid.key(item.outcome.camera, item.outcome.window_start) for item in seen)
    first_seen: dict[WindowKey, SeenOutcome] = {}
    for item in sorted(seen, key=lambda item: item.seen_at):
        first_seen.setdefault(grid.key(item.outcome.camera, item.outcome.window_start), item)
    counted = [item for item in first_seen.values() if span.counts(item.outcome.window_end)]
    processing = [item.seen_at - item.outcome.window_end for item in counted]
    # The outcome's end-to-end latency runs to its publication; the subscriber saw it this much later.
    end_to_end = [item.outcome.latency.end_to_end + item.seen_at - item.outcome.published_at for item in counted]
    # Shedding over the timed windows too: a camera's last windows close as idle, late by design, and shed.
    shed = sum(item.outcome.shed for key, item in first_seen.items() if key in expected
               and span.counts(item.outcome.window_end))
    timed_expected = sum(1 for item in counted if grid.key(item.outcome.camera, item.outcome.window_start) in expected)
    return TrialResult(
        cameras=cameras,
        processing_p50_ms=percentile_ms(processing, 50),
        processing_p99_ms=percentile_ms(processing, 99),
        end_to_end_p50_ms=percentile_ms(end_to_end, 50),
        end_to_end_p99_ms=percentile_ms(end_to_end, 99),
        expected_windows=len(expected),
        outcomes=len(seen),
        lost=len(expected - per_window.keys()),
        duplicates=sum(count - 1 for count in per_window.values()),
        unexpected=len(per_window.keys() - expected),
        shed=shed,
        shed_fraction=round(shed / timed_expected, 4) if timed_expected else 0.0,
        lag_growth_s={stage: round(growth, 2) for stage, growth in lag_growth_s.items()},
    )


def lag_growth_s(lag_samples: list[float], records_per_s: float) -> float:
    """How much a stage's consumer lag grew over the trial, in seconds of its input: the mean of the last third
    of the samples minus the mean of the first third (a third smooths the batch-to-batch sawtooth)."""
    if len(lag_samples) < 3 or records_per_s <= 0:
        return 0.0
    third = len(lag_samples) // 3
    return (float(np.mean(lag_samples[-third:])) - float(np.mean(lag_samples[:third]))) / records_per_s


@dataclass(frozen=True)
class VerdictBounds:
    processing_p99_ms: float = 1000.0
    max_shed_fraction: float = 0.01
    max_lag_growth_s: float = 1.0  # a stage falling behind by more than a second of its input does not keep up


def k_failures(result: TrialResult, bounds: VerdictBounds, missing_reason: str = "") -> list[str]:
    """Why K does not count (empty: it does): latency, losses, duplicates, shedding or a growing lag.
    `missing_reason`: why the bench stopped waiting for the windows still missing, told with the losses."""
    reasons: list[str] = []
    if not result.processing_p99_ms <= bounds.processing_p99_ms:  # NaN (no counted window) fails too
        reasons.append(f"processing p99 {result.processing_p99_ms} ms > {bounds.processing_p99_ms:g} ms")
    if result.lost:
        reasons.append(f"{result.lost} of {result.expected_windows} windows lost"
                       + (f": {missing_reason}" if missing_reason else ""))
    if result.duplicates:
        reasons.append(f"{result.duplicates} duplicate outcomes")
    if result.shed_fraction > bounds.max_shed_fraction:
        reasons.append(f"{result.shed_fraction:.1%} of windows shed > {bounds.max_shed_fraction:.0%}")
    for stage, growth in sorted(result.lag_growth_s.items()):
        if growth > bounds.max_lag_growth_s:
            reasons.append(f"{stage} consumer lag grew by {growth:.1f} s of input > {bounds.max_lag_growth_s:g} s")
    return reasons
