"""Per-camera baselines: captured from the first sufficient windows that one model version served, per model
version, kept on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from processors.drift.baselines import Baselines, BaselineSpan
from processors.drift.calibration import Calibration
from processors.drift.settings import DriftSettings
from tests.unit.processors.drift.conftest import make_window


def test_a_baseline_is_captured_from_sufficient_windows_and_survives_a_restart(tmp_path: Path,
                                                                              settings: DriftSettings) -> None:
    rng = np.random.default_rng(0)
    baselines = Baselines(settings, windows_needed=2, outcomes_needed=50, directory=tmp_path)
    too_few_frames = make_window(rng, frames=5)
    assert baselines.offer("s", "a", "m/1", 0.0, 60.0, too_few_frames, None, {"m/1"}) is None
    assert baselines.offer("s", "a", "m/1", 60.0, 120.0, make_window(rng), None, {"m/1"}) is None
    assert baselines.get("s", "a", "m/1") is None
    captured = baselines.offer("s", "a", "m/1", 120.0, 180.0, make_window(rng), None, {"m/1"})
    assert captured is not None and captured.kind == "camera" and captured.name == "s/a@60"
    assert captured.embeddings.shape[0] == 240
    assert baselines.get("s", "a", "m/1") is captured
    assert baselines.get("s", "a", "m/2") is None  # another model: captured again
    restarted = Baselines(settings, windows_needed=2, outcomes_needed=50, directory=tmp_path)
    loaded = restarted.get("s", "a", "m/1")
    assert loaded is not None and np.array_equal(loaded.embeddings, captured.embeddings)
    # The windows it was captured from (their labels are its observed accuracy), kept across the restart too.
    assert restarted.span("s", "a", "m/1") == BaselineSpan(60.0, 180.0)
    assert restarted.span("s", "a", "m/2") is None


def test_a_model_change_restarts_the_capture(tmp_path: Path, settings: DriftSettings) -> None:
    rng = np.random.default_rng(1)
    baselines = Baselines(settings, windows_needed=2, outcomes_needed=50, directory=tmp_path)
    assert baselines.offer("s", "a", "m/1", 0.0, 60.0, make_window(rng), None, {"m/1"}) is None
    assert baselines.offer("s", "a", "m/2", 60.0, 120.0, make_window(rng), None, {"m/2"}) is None
    captured = baselines.offer("s", "a", "m/2", 120.0, 180.0, make_window(rng), None, {"m/2"})
    assert captured is not None and captured.name == "s/a@60"
    assert baselines.get("s", "a", "m/1") is None and baselines.get("s", "a", "m/2") is captured


def test_a_window_two_model_versions_served_is_left_out(tmp_path: Path, settings: DriftSettings) -> None:
    """Around a promotion a window holds the old model's delta and X_i beside the new one's."""
    rng = np.random.default_rng(4)
    baselines = Baselines(settings, windows_needed=2, outcomes_needed=50, directory=tmp_path)
    assert baselines.offer("s", "a", "m/2", 0.0, 60.0, make_window(rng), None, {"m/1", "m/2"}) is None
    assert baselines.offer("s", "a", "m/2", 60.0, 120.0, make_window(rng), None, {"m/2"}) is None
    captured = baselines.offer("s", "a", "m/2", 120.0, 180.0, make_window(rng), None, {"m/2"})
    assert captured is not None and captured.name == "s/a@60" and captured.embeddings.shape[0] == 240


def test_a_baseline_waits_for_enough_outcomes(tmp_path: Path, settings: DriftSettings) -> None:
    rng = np.random.default_rng(2)
    baselines = Baselines(settings, windows_needed=1, outcomes_needed=50, directory=tmp_path)
    assert baselines.offer("s", "a", "m/1", 0.0, 60.0, make_window(rng, outcomes=30), None, {"m/1"}) is None
    captured = baselines.offer("s", "a", "m/1", 60.0, 120.0, make_window(rng, outcomes=30), None, {"m/1"})
    assert captured is not None and sum(captured.label_counts.values()) == 60


def test_a_reset_forgets_baselines_and_captures_even_after_a_restart(tmp_path: Path, settings: DriftSettings) -> None:
    rng = np.random.default_rng(2)
    baselines = Baselines(settings, windows_needed=1, outcomes_needed=10, directory=tmp_path / "baselines")
    assert baselines.offer("s", "a", "m/1", 0.0, 60.0, make_window(rng), None, {"m/1"}) is not None
    baselines.reset()  # a promotion (or a rollback to the same version)
    assert baselines.get("s", "a", "m/1") is None
    restarted = Baselines(settings, windows_needed=1, outcomes_needed=10, directory=tmp_path / "baselines")
    assert restarted.get("s", "a", "m/1") is None
    captured = restarted.offer("s", "a", "m/1", 60.0, 120.0, make_window(rng), None, {"m/1"})
    assert captured is not None and captured.name == "s/a@60"


def test_a_baseline_measures_accuracy_drops_from_the_cameras_own_estimate(tmp_path: Path,
                                                                         settings: DriftSettings) -> None:
    """The model's validation accuracy is not what a hard but stable camera drops from: its own estimate is."""
    rng = np.random.default_rng(3)
    model = Calibration(temperature=1.3, num_classes=5, samples=500, accuracy=0.95, nll_before=0.7, nll_after=0.6)
    baselines = Baselines(settings, windows_needed=2, outcomes_needed=10, directory=tmp_path)
    first, second = make_window(rng), make_window(rng)
    assert baselines.offer("s", "a", "m/1", 0.0, 60.0, first, model, {"m/1"}) is None
    captured = baselines.offer("s", "a", "m/1", 60.0, 120.0, second, model, {"m/1"})
    assert captured is not None and captured.calibration is not None
    own = model.expected_accuracy(np.concatenate([first.top_k, second.top_k]))
    assert captured.calibration.accuracy == pytest.approx(own) and own < 0.9
    assert captured.calibration.temperature == model.temperature  # the model's calibration, not a new one
    restarted = Baselines(settings, windows_needed=2, outcomes_needed=10, directory=tmp_path).get("s", "a", "m/1")
    assert restarted is not None and restarted.calibration == captured.calibration
