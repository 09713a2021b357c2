"""Window samples: built at training time from probabilities, concatenated for baselines, thinned."""

from __future__ import annotations

import numpy as np
import pytest

from processors.drift.sample import WindowSample
from tests.unit.processors.drift.conftest import make_window


def test_from_probabilities_keeps_what_serving_publishes() -> None:
    probabilities = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    sample = WindowSample.from_probabilities({"brightness": np.ones(4)}, np.zeros((4, 6)), probabilities,
                                             ["idle", "walk", "run"], top_k=2)
    assert sample.labels == ["walk", "idle"]
    np.testing.assert_allclose(sample.top_k, [[0.7, 0.2], [0.5, 0.3]])
    np.testing.assert_allclose(sample.confidence, [0.7, 0.5])
    assert sample.frames == 4


def test_concat_joins_frames_and_outcomes() -> None:
    rng = np.random.default_rng(0)
    first, second = make_window(rng, frames=10, outcomes=3), make_window(rng, frames=5, outcomes=2)
    narrow = WindowSample(second.quality, second.embeddings, second.labels, second.top_k[:, :1], second.event_ids)
    joined = WindowSample.concat([first, narrow])
    assert joined.frames == 15 and len(joined.labels) == 5 and joined.top_k.shape == (5, 3)
    np.testing.assert_array_equal(joined.quality["sharpness"][10:], second.quality["sharpness"])
    assert joined.event_ids == first.event_ids + second.event_ids
    np.testing.assert_array_equal(joined.top_k[3:, 1:], 0.0)  # a narrower top-k is padded with zeros
    with pytest.raises(ValueError, match="nothing"):
        WindowSample.concat([])


def test_thinning_keeps_the_first_and_last_frame() -> None:
    sample = make_window(np.random.default_rng(1), frames=100)
    thinned = sample.thinned(10)
    assert thinned.frames == 10
    np.testing.assert_array_equal(thinned.embeddings[[0, -1]], sample.embeddings[[0, -1]])
    assert sample.thinned(100) is sample
