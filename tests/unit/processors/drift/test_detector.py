"""One drift window against a reference profile: shifts detected, controls quiet, the report event."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from processors.drift.calibration import Calibration, ObservedPerformance
from processors.drift.detector import assess
from processors.drift.profile import ReferenceProfile
from processors.drift.sample import WindowSample, check_frame
from processors.drift.settings import DriftSettings
from streams.records import FrameRef, ScoredFrame
from streams.schemas import DriftReport, HopLatency, InvalidMessage, LabelScore, WindowOutcome
from tests.unit.processors.drift.conftest import SHIFTS, Shift, make_window

CONTROL_WINDOWS = 200
CALIBRATION = Calibration(temperature=1.3, num_classes=5, samples=500, accuracy=0.8, nll_before=0.7,
                          nll_after=0.6)


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    reference = make_window(np.random.default_rng(100), frames=3000, outcomes=1500)
    return ReferenceProfile.build("training", "model-v3", reference, DriftSettings(), CALIBRATION)


@pytest.mark.parametrize("shift, cause", [("brightness", "data_drift"), ("noise", "data_drift"),
                                          ("blur", "embedding_drift"), ("action_mix", "prediction_drift")])
def test_every_shifted_window_is_detected(profile: ReferenceProfile, settings: DriftSettings, shift: Shift,
                                          cause: str) -> None:
    rng = np.random.default_rng(SHIFTS.index(shift))
    for _ in range(10):
        result = assess(profile, make_window(rng, shift), settings)
        assert result.verdict == "drift" and cause in result.causes, (shift, result.causes)


def test_brightness_names_the_drifted_column(profile: ReferenceProfile, settings: DriftSettings) -> None:
    result = assess(profile, make_window(np.random.default_rng(9), "brightness"), settings)
    assert "brightness" in result.drifted_columns
    assert result.share_drifted >= settings.drift_share


def test_control_windows_raise_at_most_5_percent_false_alarms(profile: ReferenceProfile,
                                                              settings: DriftSettings) -> None:
    rng = np.random.default_rng(2024)
    results = [assess(profile, make_window(rng), settings) for _ in range(CONTROL_WINDOWS)]
    alarms = [result for result in results if result.verdict == "drift"]
    causes = Counter(cause for result in alarms for cause in result.causes)
    assert len(alarms) / CONTROL_WINDOWS <= 0.05, causes
    assert all(result.verdict in ("ok", "drift") for result in results)


def test_short_windows_are_insufficient_and_skip_tests(profile: ReferenceProfile, settings: DriftSettings) -> None:
    result = assess(profile, make_window(np.random.default_rng(1), frames=5, outcomes=3), settings)
    assert result.verdict == "insufficient"
    assert result.embedding is None and not result.quality and not result.prediction
    assert result.estimated_accuracy is not None  # three outcomes still give an estimate


def test_long_windows_are_thinned_to_the_frame_cap(profile: ReferenceProfile) -> None:
    settings = DriftSettings(max_frames=50)
    assert assess(profile, make_window(np.random.default_rng(2), frames=500), settings).frames == 50


def test_estimated_accuracy_is_the_mean_calibrated_top1(profile: ReferenceProfile, settings: DriftSettings) -> None:
    window = make_window(np.random.default_rng(3))
    result = assess(profile, window, settings)
    top1 = CALIBRATION.top1(window.top_k)
    assert result.estimated_accuracy == pytest.approx(CALIBRATION.expected_accuracy(window.top_k))
    assert result.estimated_stderr == pytest.approx(np.std(top1, ddof=1) / np.sqrt(top1.size))
    assert result.report(site="demo", camera="cam1", window_start=0.0, window_end=60.0, profile=profile,
                         model_version="7", observed=None, reference_observed=None,
                         published_at=61.0).estimated_accuracy_stderr == (
        result.estimated_stderr)


def test_report_event(profile: ReferenceProfile, settings: DriftSettings) -> None:
    result = assess(profile, make_window(np.random.default_rng(4), "brightness"), settings)
    observed = ObservedPerformance(labels=12, accuracy=0.75, macro_f1=0.7)
    kwargs = dict(site="demo", camera="cam1", window_start=1_764_000_000.0, window_end=1_764_000_060.0,
                  profile=profile, model_version="7", published_at=1_764_000_061.0)
    baseline_observed = ObservedPerformance(labels=48, accuracy=0.9, macro_f1=0.88)
    report = result.report(observed=observed, reference_observed=baseline_observed, **kwargs)  # type: ignore[arg-type]
    assert report.report_id == result.report(observed=None, reference_observed=None,  # type: ignore[arg-type]
                                             **kwargs).report_id
    assert report.verdict == "drift" and "data_drift" in report.causes
    assert [score.column for score in report.scores] == ["brightness", "sharpness", "delta", "label", "confidence"]
    assert report.reference == "model-v3" and report.reference_accuracy == 0.8
    assert (report.observed_accuracy, report.labels) == (0.75, 12)
    assert (report.reference_observed_accuracy, report.reference_labels) == (0.9, 48)
    assert report.alert_causes is None  # the policy's verdict is added by the job
    assert DriftReport.model_validate_json(report.to_json_bytes()) == report


def _frame(seq: int, brightness: float = 100.0, feature: float = 0.0) -> ScoredFrame:
    return ScoredFrame(site="demo", camera="cam1", seq=seq, capture_time=10.0 + seq, ingest_time=10.1 + seq,
                       scored_time=10.2 + seq, source=FrameRef("frames.demo", 0, seq), delta=0.1 * seq,
                       brightness=brightness + seq, sharpness=50.0, model_version="7", jpeg=b"",
                       features=np.full(4, feature + seq, dtype=np.float16))


def test_non_finite_frames_are_invalid() -> None:
    check_frame(_frame(1), ["brightness", "sharpness"])
    with pytest.raises(InvalidMessage, match="cam1/2: non-finite brightness, features"):
        check_frame(_frame(2, brightness=float("nan"), feature=float("inf")), ["brightness", "sharpness"])


def test_sample_from_records() -> None:
    frames = [_frame(seq) for seq in range(3)]
    latency = HopLatency(ingest=0, score=0, select=0, classify=0, processing=0, end_to_end=0)
    outcome = WindowOutcome(event_id="e1", site="demo", camera="cam1", window_start=10, window_end=14, label="walk",
                            confidence=0.7, top_k=[LabelScore(label="walk", confidence=0.7),
                                                   LabelScore(label="run", confidence=0.2)],
                            frames=[], candidates=3, budget=3, shed=False, incomplete=False, selector_version="s",
                            model_version="7", published_at=15, latency=latency, outcome="action")
    sample = WindowSample.from_records(frames, [outcome], ["brightness", "delta"])
    np.testing.assert_allclose(sample.quality["brightness"], [100, 101, 102])
    assert sample.embeddings.shape == (3, 4) and sample.embeddings[2, 0] == 2
    assert sample.labels == ["walk"] and sample.event_ids == ["e1"]
    np.testing.assert_allclose(sample.top_k, [[0.7, 0.2]])
    np.testing.assert_allclose(sample.confidence, [0.7])
