"""The pipeline bench's latency per hop: select, classify and commit from the outcome's timestamps and the
subscriber's receipt, over the timed windows' first-seen outcomes."""

from __future__ import annotations

import pytest

from bench.pipeline_accounting import SeenOutcome, TrialWindow, WindowGrid
from bench.pipeline_hops import hop_percentiles_ms, hop_seconds, step_means_ms, step_totals
from streams.schemas import HopLatency, LabelScore, WindowOutcome

GRID = WindowGrid(window_s=4.0, hop_s=2.0, min_frames=2)
EPOCH = 1_700_000_000.0


def _seen(start: float, select: float, classify: float, seen_after_publish: float) -> SeenOutcome:
    end = start + 4.0
    published = end + select + classify
    latency = HopLatency(ingest=0.03, score=0.04, select=select, classify=classify, processing=select + classify,
                         end_to_end=1.0)
    outcome = WindowOutcome(event_id=f"cam0@{start}", site="s", camera="cam0", window_start=start, window_end=end,
                            label="a", confidence=1.0, top_k=[LabelScore(label="a", confidence=1.0)], frames=[],
                            candidates=32, budget=8, shed=False, incomplete=False, selector_version="v",
                            model_version="v", published_at=published, latency=latency, outcome="action")
    return SeenOutcome(outcome, published + seen_after_publish)


def test_the_hops_add_up_to_the_processing_latency() -> None:
    hops = hop_seconds(_seen(EPOCH, select=0.2, classify=0.05, seen_after_publish=0.1))
    assert hops == pytest.approx({"select": 0.2, "classify": 0.05, "commit": 0.1, "processing": 0.35,
                                  "frame_ingest": 0.03, "frame_score": 0.04})


def test_percentiles_cover_the_timed_windows_once_each() -> None:
    seen = [_seen(EPOCH, 0.1, 0.01, 0.02), _seen(EPOCH + 2.0, 0.3, 0.01, 0.02),
            _seen(EPOCH + 2.0, 0.9, 0.5, 0.5),  # a redelivery seen later: the first one counts
            _seen(EPOCH + 20.0, 5.0, 5.0, 5.0)]  # ends after the timed span
    # Sorted by receipt: the redelivery (published later) is seen after the first outcome of its window.
    span = TrialWindow(EPOCH + 4.0, EPOCH + 10.0)

    hops = hop_percentiles_ms(seen, GRID, span)

    assert hops["select"] == {"p50": pytest.approx(200.0), "p99": pytest.approx(298.0)}
    assert hops["commit"] == {"p50": pytest.approx(20.0), "p99": pytest.approx(20.0)}
    assert hop_percentiles_ms([], GRID, span) == {}


def _steps_page(close_s: float, closes: int, commit_s: float, commits: int) -> str:
    return ("# TYPE actionstream_step_seconds histogram\n"
            f'actionstream_step_seconds_sum{{stage="stage2",step="close"}} {close_s}\n'
            f'actionstream_step_seconds_count{{stage="stage2",step="close"}} {closes}\n'
            f'actionstream_step_seconds_bucket{{stage="stage2",step="close",le="+Inf"}} {closes}\n'
            f'actionstream_step_seconds_sum{{stage="classifier",step="commit"}} {commit_s}\n'
            f'actionstream_step_seconds_count{{stage="classifier",step="commit"}} {commits}\n')


def test_step_means_are_per_window_over_the_span_between_two_readings() -> None:
    before = step_totals([_steps_page(1.0, 10, 0.5, 5)])
    after = step_totals([_steps_page(1.5, 14, 0.5, 5), _steps_page(0.3, 2, 0.0, 0)])  # a second process's page
    # close: (1.8 - 1.0) s over 6 windows; commit: none in the span, left out.
    assert step_means_ms(before, after) == {"stage2.close": 133.3}
