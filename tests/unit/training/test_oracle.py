from __future__ import annotations

import numpy as np
import pytest

from training.oracle import cross_fitted_oracle, no_action_targets, stratified_folds


def test_folds_are_stratified_and_cover_every_row() -> None:
    labels = np.array([0] * 6 + [1] * 3 + [2] * 3)
    folds = stratified_folds(labels, folds=3, seed=0)
    for label in range(3):
        counts = np.bincount(folds[labels == label], minlength=3)
        assert counts.max() - counts.min() <= 1
    assert stratified_folds(labels, 3, seed=0).tolist() == folds.tolist()


def test_each_video_is_scored_by_a_model_that_never_saw_it() -> None:
    labels = np.array([0, 1, 0, 1, 0, 1])
    steps, classes = 4, 2

    def train_and_predict(fit_rows: np.ndarray, predict_rows: np.ndarray) -> np.ndarray:
        assert not set(fit_rows) & set(predict_rows)
        assert len(fit_rows) + len(predict_rows) == len(labels)
        probabilities = np.zeros((len(predict_rows), steps, classes), dtype=np.float32)
        probabilities[:, :, 0] = 0.1 * (predict_rows[:, None] + 1)  # row-dependent, to check the gather
        probabilities[:, :, 1] = 1 - probabilities[:, :, 0]
        return probabilities

    oracle = cross_fitted_oracle(labels, folds=3, seed=0, train_and_predict=train_and_predict)
    assert oracle.shape == (6, steps)
    for row, label in enumerate(labels):
        expected = 0.1 * (row + 1) if label == 0 else 1 - 0.1 * (row + 1)
        assert oracle[row] == pytest.approx([expected] * steps, rel=1e-5)


def test_frames_of_clips_without_action_are_not_worth_choosing() -> None:
    oracle = np.array([[0.1, 0.9], [0.98, 0.99], [0.2, 0.7]], dtype=np.float32)
    labels = np.array([0, 2, 1])  # class 2 is idle
    targets = no_action_targets(oracle, labels, idle_index=2)
    np.testing.assert_allclose(targets, [[0.1, 0.9], [0.0, 0.0], [0.2, 0.7]], rtol=1e-6)
    assert oracle[1].tolist() == pytest.approx([0.98, 0.99])  # the input is left as it was
    assert no_action_targets(oracle, labels, idle_index=None) is oracle
