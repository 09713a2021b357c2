"""The refit turn's training data: only the frames a strategy selects stay valid."""

from __future__ import annotations

import numpy as np

from models.selectors import create_strategy
from training.features import FeatureSet
from training.refit import selected_frames_only


def test_only_the_selected_frames_stay_valid() -> None:
    steps = 8
    representation = np.random.default_rng(0).normal(size=(2, steps, 4)).astype(np.float32)
    mask = np.ones((2, steps), dtype=bool)
    mask[1, 6:] = False  # a window with a padded tail: selection spreads over its 6 valid frames
    data = FeatureSet(["a", "b"], representation, mask, np.array([0, 1]), np.tile(np.arange(steps), (2, 1)))
    refit = selected_frames_only(data, create_strategy("uniform"), count=2)
    assert [np.flatnonzero(row).tolist() for row in refit.mask] == [[2, 6], [1, 4]]
    assert refit.representation is data.representation and refit.labels is data.labels
