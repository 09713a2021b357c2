"""Cross-fitted per-frame oracle: the classifier's softmax probability of the true class on each frame alone.

Each training video is scored by a classifier that never saw it (k folds, stratified by class), so the
single-frame selector's targets are not inflated by memorisation (SMART.md section 3, our choice).

With an idle class, a clip without action has no frame worth choosing: its frames get the target 0
(`no_action_targets`), not their probability of idle. Otherwise the same no-action look is taught as worth
choosing (idle clips, p(idle) ~0.99) and as not (the frames around a burst, p(action) ~0.02), the selector
learns it per background, and on a new background it ranks the frames of an idle scene above a burst in the
same window (the demo's cam2: delta 0.39-0.56 on an idle clip's frames, 0.31-0.51 on the burst beside it).
Measured on the demo's set, seed 0: at 12 clips a class event recall on 168 held-out clips 0.914 -> 0.933
(seed 1: 0.910 -> 0.948); at 24 clips, where the selector sees more backgrounds, 0.983 -> 0.990, precision
0.999 -> 0.994 (F1 0.991 both): the target then matters little.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

logger = logging.getLogger(__name__)

# (rows to train on, rows to predict) -> per-frame class probabilities [len(predict), T, C]
TrainAndPredict = Callable[[np.ndarray, np.ndarray], np.ndarray]


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold number per row; each class is dealt round-robin over the folds after a seeded shuffle."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        assignment[rows] = (np.arange(len(rows)) + offset) % folds
        offset += len(rows)  # continue the deal so small classes do not all start in fold 0
    return assignment


def cross_fitted_oracle(labels: np.ndarray, folds: int, seed: int, train_and_predict: TrainAndPredict) -> np.ndarray:
    """[N,T] probability of each video's true class on each of its frames, from out-of-fold classifiers."""
    assignment = stratified_folds(labels, folds, seed)
    oracle: np.ndarray | None = None
    for fold in range(folds):
        held_out = np.flatnonzero(assignment == fold)
        if held_out.size == 0:
            continue
        probabilities = train_and_predict(np.flatnonzero(assignment != fold), held_out)
        if oracle is None:
            oracle = np.zeros((len(labels), probabilities.shape[1]), dtype=np.float32)
        oracle[held_out] = np.take_along_axis(probabilities, labels[held_out, None, None], axis=2)[..., 0]
        logger.info("oracle fold %d/%d: %d videos scored", fold + 1, folds, held_out.size)
    if oracle is None:
        raise ValueError("no videos to build the oracle from")
    return oracle


def no_action_targets(oracle: np.ndarray, labels: np.ndarray, idle_index: int | None) -> np.ndarray:
    """The oracle [N,T] with every frame of a clip labelled `idle_index` set to 0 (a copy); unchanged without an
    idle class."""
    if idle_index is None:
        return oracle
    targets = oracle.copy()
    targets[labels == idle_index] = 0.0
    return targets
