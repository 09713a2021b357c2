from __future__ import annotations

import numpy as np

from training.evidence_selector import evidence_scores, fit_evidence_selector, selector_inputs


def _evidence_set(seed: int, clips: int = 12, steps: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature 0 of a candidate carries its clip's label evidence; feature 1 is noise; two classes."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(clips, steps, 2))
    labels = np.arange(clips) % 2
    evidence = 1.0 / (1.0 + np.exp(-3.0 * features[..., 0]))  # the label's probability
    probabilities = np.empty((clips, steps, 2))
    probabilities[np.arange(clips), :, labels] = evidence
    probabilities[np.arange(clips), :, 1 - labels] = 1.0 - evidence
    return features, probabilities, labels


def test_the_selector_learns_which_candidates_carry_the_label_and_needs_no_label_to_score() -> None:
    features, probabilities, labels = _evidence_set(0)
    energy = np.zeros(features.shape[:2], dtype=np.float32)
    selector = fit_evidence_selector(selector_inputs(features, probabilities, energy), probabilities, labels,
                                     ridge=1.0)
    test_features, test_probabilities, test_labels = _evidence_set(1)
    scores = evidence_scores(selector, selector_inputs(test_features, test_probabilities, energy), energy)
    truth = test_probabilities[np.arange(len(test_labels)), :, test_labels]
    assert (scores.argmax(axis=1) == truth.argmax(axis=1)).mean() >= 0.9


def test_the_energy_adds_in_and_a_candidate_without_predecessor_is_never_picked() -> None:
    features, probabilities, labels = _evidence_set(0)
    energy = np.zeros(features.shape[:2], dtype=np.float32)
    inputs = selector_inputs(features, probabilities, energy)
    selector = fit_evidence_selector(inputs, probabilities, labels, ridge=1.0)
    moved = energy.copy()
    moved[:, 0] = -np.inf
    moved[:, 1] += 100.0
    scores = evidence_scores(selector, selector_inputs(features, probabilities, moved), moved)
    assert np.isneginf(scores[:, 0]).all()
    assert (scores.argmax(axis=1) == 1).all()
    assert np.isfinite(selector_inputs(features, probabilities, moved)).all()  # the regression reads finite inputs
