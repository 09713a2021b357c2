"""The pipeline bench's accounting: expected windows from the published frames, latency where the subscriber saw
the outcome, losses and duplicates per (camera, window), shedding, lag growth and the K verdict."""

from __future__ import annotations

import math

import pytest

from bench.pipeline_accounting import (
    SeenOutcome,
    TrialWindow,
    VerdictBounds,
    WindowGrid,
    expected_windows,
    k_failures,
    lag_growth_s,
    trial_result,
)
from streams.schemas import HopLatency, LabelScore, WindowOutcome

GRID = WindowGrid(window_s=4.0, hop_s=2.0, min_frames=2)
EPOCH = 1_700_000_000.0  # an even second: on the hop grid


def _seen(camera: str, start: float, seen_after_end: float, shed: bool = False) -> SeenOutcome:
    end = start + 4.0
    latency = HopLatency(ingest=0.0, score=0.0, select=0.0, classify=0.0, processing=0.1, end_to_end=0.3)
    outcome = WindowOutcome(event_id=f"{camera}@{start}", site="s", camera=camera, window_start=start,
                            window_end=end, label="a", confidence=1.0, top_k=[LabelScore(label="a", confidence=1.0)],
                            frames=[], candidates=32, budget=8, shed=shed, incomplete=False, selector_version="v",
                            model_version="v", published_at=end + 0.1, latency=latency, outcome="action")
    return SeenOutcome(outcome, end + seen_after_end)


def test_expected_windows_are_every_grid_window_holding_enough_published_frames() -> None:
    # cam0: frames at 0.5 s steps over [0, 5): windows starting at -2, 0, 2, 4 hold them; the one at 4 holds 2.
    captures = [("cam0", EPOCH + 0.5 * step) for step in range(10)]
    captures.append(("cam1", EPOCH + 1.0))  # one frame: no window holds min_frames
    assert expected_windows(captures, GRID) == {GRID.key("cam0", EPOCH + start) for start in (-2.0, 0.0, 2.0, 4.0)}


def test_a_frame_on_a_window_boundary_belongs_to_the_window_it_starts() -> None:
    assert list(GRID.starts_holding(EPOCH + 4.0)) == [round(EPOCH / 2) + 1, round(EPOCH / 2) + 2]


def test_latency_is_timed_where_the_subscriber_saw_the_first_copy_of_each_counted_window() -> None:
    starts = [EPOCH + offset for offset in (0.0, 2.0, 4.0, 6.0)]
    expected = {GRID.key("cam0", start) for start in starts}
    seen = [_seen("cam0", starts[0], 9.0),  # ends before the counted span: warm-up
            _seen("cam0", starts[1], 0.2), _seen("cam0", starts[2], 0.4, shed=True),
            _seen("cam0", starts[2], 3.0, shed=True),  # a duplicate, seen later: not timed again
            _seen("cam9", starts[1], 0.3)]  # a window the published frames do not call for
    span = TrialWindow(counted_from=starts[1] + 4.0, counted_until=starts[3] + 3.0)
    result = trial_result(4, expected, seen, GRID, span, {"stage1": 0.4})
    assert (result.expected_windows, result.outcomes, result.lost, result.duplicates, result.unexpected) == (
        4, 5, 1, 1, 1)
    assert result.processing_p50_ms == pytest.approx(300.0)  # 0.2, 0.3, 0.4: the warm-up's 9 s left out
    assert result.end_to_end_p99_ms == pytest.approx(598.0, abs=0.1)  # 0.3 + (0.4 - 0.1), interpolated
    # Shedding over the timed windows the frames call for: 1 of 2 (the warm-up's and cam9's left out).
    assert (result.shed, result.shed_fraction, result.lag_growth_s) == (1, 0.5, {"stage1": 0.4})


def test_lag_growth_compares_the_last_third_with_the_first_in_seconds_of_input() -> None:
    assert lag_growth_s([10, 30, 20] * 3, records_per_s=32.0) == 0.0  # a sawtooth is not growth
    assert lag_growth_s([0, 0, 32, 64, 96, 128], records_per_s=32.0) == pytest.approx(3.5)
    assert lag_growth_s([5, 9], records_per_s=32.0) == 0.0  # too few samples to tell


def test_k_counts_only_when_latency_losses_duplicates_shedding_and_lag_all_hold() -> None:
    seen = [_seen("cam0", EPOCH, 0.2)]
    expected = {GRID.key("cam0", EPOCH)}
    span = TrialWindow(EPOCH, EPOCH + 10)
    holding = trial_result(1, expected, seen, GRID, span, {"stage1": 0.5, "classifier": -0.2})
    assert k_failures(holding, VerdictBounds()) == []
    failing = trial_result(1, expected | {GRID.key("cam0", EPOCH + 2)},
                           [_seen("cam0", EPOCH, 1.5, shed=True)] * 2, GRID, span, {"stage2": 2.5})
    assert k_failures(failing, VerdictBounds()) == [
        "processing p99 1500.0 ms > 1000 ms", "1 of 2 windows lost", "1 duplicate outcomes",
        "100.0% of windows shed > 1%", "stage2 consumer lag grew by 2.5 s of input > 1 s"]
    # Why the bench stopped waiting for the missing windows is told with the losses, as one reason.
    assert k_failures(failing, VerdictBounds(), "none came 15 s after every stage's input drained")[1] == \
        "1 of 2 windows lost: none came 15 s after every stage's input drained"


def test_a_trial_without_a_counted_window_does_not_count() -> None:
    result = trial_result(1, set(), [], GRID, TrialWindow(EPOCH, EPOCH + 10), {})
    assert math.isnan(result.processing_p99_ms)
    assert k_failures(result, VerdictBounds()) == ["processing p99 nan ms > 1000 ms"]
