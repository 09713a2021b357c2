from __future__ import annotations

import numpy as np
import pytest

from models.motion import window_motion_energy
from training.motion_probe import MotionData, StackLayout
from training.temporal_context import both_sides_energy, with_following_differences, with_temporal_context


def _stacks(clips: int = 2, steps: int = 5, depth: int = 3, size: int = 4) -> np.ndarray:
    rng = np.random.default_rng(0)
    stacks = rng.normal(size=(clips, steps, depth, size, size)).astype(np.float16)
    stacks[:, 0] = 0.0  # no predecessor
    return stacks


def test_each_candidate_gets_the_next_candidates_newest_differences_and_zeros_past_the_end() -> None:
    stacks = _stacks()
    context = with_following_differences(stacks, 2)
    assert context.shape == (2, 5, 5, 4, 4) and context.dtype == stacks.dtype
    np.testing.assert_array_equal(context[:, :, :3], stacks)  # its own stack first, unchanged
    np.testing.assert_array_equal(context[:, 1, 3], stacks[:, 2, 0])
    np.testing.assert_array_equal(context[:, 1, 4], stacks[:, 3, 0])
    np.testing.assert_array_equal(context[:, 3, 3], stacks[:, 4, 0])
    assert not context[:, 3, 4].any() and not context[:, 4, 3:].any()


def test_more_following_differences_than_the_window_holds_pad_with_zeros() -> None:
    stacks = _stacks(steps=3)
    context = with_following_differences(stacks, 4)
    assert context.shape[2] == 7
    np.testing.assert_array_equal(context[:, 0, 3:5], stacks[:, 1:3, 0])
    assert not context[:, 0, 5:].any() and not context[:, 2, 3:].any()


def test_no_context_leaves_the_input_and_the_energy_as_they_were() -> None:
    stacks = _stacks()
    assert with_following_differences(stacks, 0) is stacks
    np.testing.assert_array_equal(window_motion_energy(with_following_differences(stacks, 2)),
                                  window_motion_energy(stacks))


def test_temporal_context_keeps_labels_and_masks() -> None:
    in_burst = np.zeros((2, 5), dtype=bool)
    in_burst[0, 2] = True
    data = with_temporal_context(MotionData(_stacks(), in_burst, np.array([1, 0])), 1)
    assert data.stacks.shape[2] == 4
    np.testing.assert_array_equal(data.in_burst, in_burst)
    np.testing.assert_array_equal(data.labels, [1, 0])


def test_past_differences_keep_the_candidates_newest_ones_before_the_following() -> None:
    stacks = _stacks()
    data = with_temporal_context(MotionData(stacks, np.zeros((2, 5), dtype=bool), np.array([1, 0])), 2, past=2)
    assert data.stacks.shape[2] == 4 and data.layout == StackLayout(past=2, following=2)
    np.testing.assert_array_equal(data.stacks[:, :, :2], stacks[:, :, :2])
    np.testing.assert_array_equal(data.stacks[:, 1, 2], stacks[:, 2, 0])
    with pytest.raises(ValueError, match="stack depth 3"):
        with_temporal_context(MotionData(stacks, np.zeros((2, 5), dtype=bool), np.array([1, 0])), 0, past=4)


def test_both_sides_energy_drops_the_candidate_just_after_a_burst() -> None:
    # One clip of 8 candidates, the burst on candidates 3-5: large differences into 3, 4 and 5 and back out at 6.
    newest = np.full(8, 0.1, dtype=np.float32)
    newest[[3, 4, 5, 6]] = [3.0, 2.0, 2.0, 3.0]
    newest[0] = 0.0  # no predecessor
    stacks = np.ones((1, 8, 1, 4, 4), dtype=np.float32) * newest[None, :, None, None, None]
    centred = with_following_differences(stacks, 1)
    energy = both_sides_energy(centred, past=1)[0]
    assert set(np.argsort(-energy)[:3]) == {3, 4, 5}  # the newest difference alone ranks 6 beside 3
    assert energy[6] < energy[5] and np.isneginf(energy[0]) and np.isneginf(energy[7])
    assert set(np.argsort(-window_motion_energy(stacks, smoothing=1)[0])[:2]) == {3, 6}
    with pytest.raises(ValueError, match="following differences"):
        both_sides_energy(stacks, past=1)
