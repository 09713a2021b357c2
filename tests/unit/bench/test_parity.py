"""bench parity's scoring: each clip against the window that overlaps it most, beside the offline prediction."""

from __future__ import annotations

import json

from bench.parity import ClipSpan, events_by_floor, score_parity, score_parity_events
from streams.schemas import HopLatency, LabelScore, WindowOutcome

ORIGIN = 5000.0


def _window(camera: str, start: float, label: str) -> WindowOutcome:
    return WindowOutcome(
        event_id=f"{camera}-{start}", site="parity", camera=camera, window_start=ORIGIN + start,
        window_end=ORIGIN + start + 4, label=label, confidence=0.9, top_k=[LabelScore(label=label, confidence=0.9)],
        frames=[], candidates=32, budget=4, shed=False, incomplete=False, selector_version="s/1", model_version="m/1",
        published_at=ORIGIN + start + 5, outcome="idle" if label == "idle" else "action",
        latency=HopLatency(ingest=0, score=0, select=0, classify=0, processing=1, end_to_end=1),
    )


def test_each_clip_meets_its_most_overlapping_window() -> None:
    spans = [
        ClipSpan("cam0", "walk/a", "walk", "walk", 4.5, 8.5),  # windows 4-8 (3.5 s) and 6-10 (2 s): 4-8 wins
        ClipSpan("cam0", "wave/b", "wave", "jump", 12.5, 16.5),  # offline wrong, stream right: a disagreement
        ClipSpan("cam1", "jump/c", "jump", "jump", 4.0, 8.0),  # the window there is on another camera's clock
        ClipSpan("cam2", "walk/d", "walk", "walk", 0.0, 4.0),  # no window at all
    ]
    windows = {
        "cam0": [_window("cam0", 2.0, "idle"), _window("cam0", 4.0, "walk"), _window("cam0", 6.0, "idle"),
                 _window("cam0", 12.0, "wave"), _window("cam0", 14.0, "idle")],
        "cam1": [_window("cam1", 4.0, "jump")],
    }
    # Offline on exactly the windows' frames: cam0's first window agrees with the stream, its second does not.
    window_offline = {"cam0-4.0": "walk", "cam0-12.0": "jump"}
    result = score_parity(spans, windows, {"cam0": ORIGIN, "cam1": ORIGIN + 10.0, "cam2": ORIGIN}, window_offline)

    # cam1's clip plays at 14-18 s on its clock: no overlap with its only window (4-8 s).
    assert (result.clips, result.unmatched) == (4, 2)
    assert result.agreement == 0.25 and result.stream_accuracy == 0.5 and result.offline_accuracy == 0.75
    assert result.disagreements[0] == "wave/b: offline jump, stream wave"
    assert json.loads(result.json_line()) == {"bench": "parity", "clips": 4, "agreement": 0.25,
                                              "stream_accuracy": 0.5, "offline_accuracy": 0.75, "unmatched": 2,
                                              "window_agreement": 0.25, "shed_windows": 0}


def test_events_on_the_parity_stream() -> None:
    spans = [
        ClipSpan("cam0", "walk/a", "walk", "walk", 4.0, 8.0, burst_s=(5.0, 6.0)),  # reported by window 4-8
        ClipSpan("cam0", "wave/b", "wave", "wave", 12.0, 16.0, burst_s=(15.0, 16.0)),  # window 12-16 says idle
        ClipSpan("cam0", "idle/c", "idle", "idle", 20.0, 24.0),  # no action; window 20-24 reports one anyway
    ]
    windows = {"cam0": [_window("cam0", 2.0, "idle"), _window("cam0", 4.0, "walk"), _window("cam0", 6.0, "walk"),
                        _window("cam0", 12.0, "idle"), _window("cam0", 20.0, "jump")]}

    events = score_parity_events(spans, windows, {"cam0": ORIGIN}, min_overlap_s=0.25)

    # Window 6-10 overlaps walk's burst (5-6) not at all: a false event, as is the jump in the idle clip.
    assert (events.actions, events.reported, events.true_events, events.false_events) == (2, 1, 1, 2)
    assert events.recall == 0.5 and events.precision == 1 / 3


def test_any_floor_is_scored_after_the_fact_whatever_floor_the_stream_ran_with() -> None:
    spans = [ClipSpan("cam0", "walk/a", "walk", "walk", 4.0, 8.0, burst_s=(5.0, 6.0))]
    # The unsure window misses the burst; the stream's own floor made it idle, keeping its label and confidence.
    unsure = _window("cam0", 6.0, "walk").model_copy(update={"confidence": 0.5, "outcome": "idle"})
    windows = {"cam0": [_window("cam0", 4.0, "walk"), unsure]}

    by_floor = events_by_floor(spans, windows, {"cam0": ORIGIN}, min_overlap_s=0.25)

    assert by_floor["0.00"] == (1.0, 0.5) and by_floor["0.60"] == (1.0, 1.0) and by_floor["0.95"] == (0.0, None)
