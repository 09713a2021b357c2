"""`bench first-windows`: a run's windows in publishing order, hops in ms, each camera's first window (the first
round) summarised apart from the later ones."""

from __future__ import annotations

from bench.first_windows import first_windows, summary, table_lines
from streams.schemas import HopLatency, LabelScore, WindowOutcome


def _outcome(camera: str, end: float, published_after_s: float, select_s: float, shed: bool = False,
             candidates: int = 32) -> WindowOutcome:
    classify_s = published_after_s - select_s
    latency = HopLatency(ingest=0.01, score=0.1, select=select_s, classify=classify_s,
                         processing=published_after_s, end_to_end=published_after_s + 0.5)
    return WindowOutcome(
        outcome="action", event_id=f"{camera}-{end:g}", site="s", camera=camera, window_start=end - 4.0,
        window_end=end, label="wave", confidence=0.9, top_k=[LabelScore(label="wave", confidence=0.9)], frames=[],
        candidates=candidates, budget=4, shed=shed, incomplete=False, selector_version="m/1", model_version="m/1",
        published_at=end + published_after_s, latency=latency,
    )


def test_the_first_round_is_summarised_apart_from_the_later_windows() -> None:
    outcomes = [  # not in publishing order, as partitions are read
        _outcome("cam1", 1002.0, 0.10, 0.05),
        _outcome("cam0", 1000.0, 1.60, 0.60, shed=True, candidates=9),
        _outcome("cam1", 1000.0, 1.50, 0.50, shed=True, candidates=12),
        _outcome("cam0", 1002.0, 0.20, 0.15),
        _outcome("cam0", 1004.0, 0.30, 0.25),
    ]

    rows = first_windows(outcomes, count=4)

    assert [(row.camera, row.window_end) for row in rows] == [("cam1", 1000.0), ("cam0", 1000.0),
                                                              ("cam1", 1002.0), ("cam0", 1002.0)]
    assert summary(rows) == {
        "bench": "first-windows",
        "first_round": {"windows": 2, "shed": 2, "processing_max_ms": 1600.0, "select_max_ms": 600.0,
                        "classify_max_ms": 1000.0},
        "later": {"windows": 2, "shed": 0, "processing_max_ms": 200.0, "select_max_ms": 150.0,
                  "classify_max_ms": 50.0},
    }
    lines = table_lines(rows)
    assert len(lines) == 5 and lines[0].split()[:2] == ["camera", "window"]
    assert lines[2].split() == ["cam0", "0.000", "action", "1600", "ms", "10", "100", "600", "1000", "0/9", "shed"]


def test_a_run_with_one_round_has_no_later_figures() -> None:
    rows = first_windows([_outcome("cam0", 1000.0, 0.1, 0.05)], count=16)

    assert summary(rows)["later"] == {"windows": 0, "shed": 0, "processing_max_ms": None, "select_max_ms": None,
                                      "classify_max_ms": None}
