"""The demo's labeller: a deterministic share of all windows, labelled from the synthetic truth (idle where no
action shows, skipped where no label is clear), and the truth file it reads round-trips."""

from __future__ import annotations

import json
from pathlib import Path

from actionstream.demo_report import Burst, CameraTruth
from actionstream.labeller import LabellerSettings, TruthFile, is_selected, label_for
from streams.schemas import HopLatency, WindowOutcome

ORIGIN = 1_764_000_000.0
TRUTH = TruthFile("demo", {"cam0": CameraTruth((Burst(4.0, 8.0, "wave"), Burst(8.0, 10.0, "fall")), 40.0, ORIGIN)})
EVERY = LabellerSettings(share=1.0, min_share=0.6)


def _outcome(start_s: float, camera: str = "cam0", label: str = "fall") -> WindowOutcome:
    latency = HopLatency(ingest=0, score=0, select=0, classify=0, processing=0, end_to_end=0)
    return WindowOutcome(outcome="action", event_id=f"w{start_s:g}-{camera}", site="demo", camera=camera,
                         window_start=ORIGIN + start_s, window_end=ORIGIN + start_s + 4.0, label=label, confidence=0.5,
                         top_k=[], frames=[], candidates=32, budget=4, shed=False, incomplete=False,
                         selector_version="m/1", model_version="m/1", published_at=0.0, latency=latency)


def test_windows_are_labelled_from_the_truth_whatever_the_model_said() -> None:
    assert label_for(_outcome(4.0), TRUTH, EVERY).label == "wave"  # type: ignore[union-attr]
    assert label_for(_outcome(20.0, label="wave"), TRUTH, EVERY).label == "idle"  # type: ignore[union-attr]
    assert label_for(_outcome(6.0), TRUTH, EVERY) is None  # wave 2 s, fall 2 s: no label holds 60 %
    assert label_for(_outcome(4.0, camera="cam9"), TRUTH, EVERY) is None


def test_the_share_is_deterministic_by_event_id_and_close_to_the_setting() -> None:
    ids = [f"event-{index}" for index in range(4000)]
    picked = [event_id for event_id in ids if is_selected(event_id, 0.3)]
    assert abs(len(picked) / len(ids) - 0.3) < 0.03
    assert picked == [event_id for event_id in ids if is_selected(event_id, 0.3)]
    assert label_for(_outcome(4.0), TRUTH, LabellerSettings(share=0.0)) is None


def test_the_truth_file_round_trips(tmp_path: Path) -> None:
    timeline = tmp_path / "cam0.json"
    timeline.write_text(json.dumps({"duration_s": 40.0, "segments": [
        {"burst_start_s": 4.0, "burst_end_s": 8.0, "label": "wave"},
        {"burst_start_s": 8.0, "burst_end_s": 10.0, "label": "fall"}]}))
    TRUTH.write(tmp_path / "truth.json", {"cam0": timeline})
    assert TruthFile.read(tmp_path / "truth.json") == TRUTH
