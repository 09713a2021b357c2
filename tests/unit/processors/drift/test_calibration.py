"""Temperature scaling, the label-free accuracy estimate, and observed accuracy / macro-F1."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from processors.drift.calibration import Calibration, fit_temperature, observed_performance

CLASSES = 10


def _overconfident(rng: np.random.Generator, rows: int, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose labels are drawn from softmax(logits / temperature): T is the true calibration."""
    logits = rng.normal(0.0, 3.0, size=(rows, CLASSES))
    labels = np.array([rng.choice(CLASSES, p=row) for row in softmax(logits / temperature, axis=1)])
    return logits, labels


def test_fit_recovers_the_temperature_and_lowers_the_nll() -> None:
    logits, labels = _overconfident(np.random.default_rng(0), 4000, 2.0)
    calibration = fit_temperature(logits, labels)
    assert calibration.temperature == pytest.approx(2.0, rel=0.1)
    assert calibration.nll_after < calibration.nll_before
    assert calibration.samples == 4000 and calibration.num_classes == CLASSES


def test_expected_accuracy_matches_the_accuracy_on_fresh_data() -> None:
    rng = np.random.default_rng(1)
    calibration = fit_temperature(*_overconfident(rng, 4000, 2.0))
    logits, labels = _overconfident(rng, 3000, 2.0)
    probabilities = softmax(logits, axis=1)
    accuracy = float(np.mean(logits.argmax(axis=1) == labels))
    assert calibration.expected_accuracy(probabilities) == pytest.approx(accuracy, abs=0.03)
    # Uncalibrated confidences overstate it: the reason for the calibration.
    assert probabilities.max(axis=1).mean() > accuracy + 0.1


def test_top1_from_every_class_is_exact_and_from_top3_close() -> None:
    rng = np.random.default_rng(2)
    logits = rng.normal(0.0, 3.0, size=(500, CLASSES))
    calibration = Calibration(temperature=1.7, num_classes=CLASSES, samples=1, accuracy=0.5, nll_before=1.0,
                              nll_after=1.0)
    exact = softmax(logits / 1.7, axis=1).max(axis=1)
    probabilities = -np.sort(-softmax(logits, axis=1), axis=1)
    np.testing.assert_allclose(calibration.top1(probabilities), exact, rtol=1e-9)
    assert np.abs(calibration.top1(probabilities[:, :3]) - exact).mean() < 0.02


def test_calibration_round_trips_through_a_dict() -> None:
    calibration = fit_temperature(*_overconfident(np.random.default_rng(3), 300, 1.5))
    assert Calibration.from_dict(calibration.to_dict()) == calibration


def test_fit_refuses_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="logits"):
        fit_temperature(np.zeros((3, 2)), np.zeros(2, dtype=int))


def test_observed_performance_joins_by_event_id_and_matches_sklearn() -> None:
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(4)
    names = ["idle", "walk", "run", "fall"]
    predicted = {f"e{index}": str(rng.choice(names)) for index in range(300)}
    truth = {event: (label if rng.random() < 0.7 else str(rng.choice(names))) for event, label in predicted.items()
             if rng.random() < 0.5}
    truth["unknown-event"] = "walk"  # a label whose window the job never saw: not joined
    observed = observed_performance(predicted, truth)
    assert observed is not None
    joined = [event for event in truth if event in predicted]
    answers, guesses = [truth[event] for event in joined], [predicted[event] for event in joined]
    assert observed.labels == len(joined)
    assert observed.accuracy == pytest.approx(accuracy_score(answers, guesses))
    assert observed.macro_f1 == pytest.approx(f1_score(answers, guesses, average="macro"))


def test_no_joined_label_gives_no_observed_performance() -> None:
    assert observed_performance({"e1": "walk"}, {"e2": "walk"}) is None
