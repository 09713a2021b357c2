from __future__ import annotations

import numpy as np
import pytest

from training.motion_probe import MotionData, ProbeSettings, burst_frame_accuracy, within_clip_energy


def _clips(seed: int, num_clips: int = 16, num_candidates: int = 6, size: int = 32) -> MotionData:
    """Two 'actions': a blob that brightens (class 0) or darkens (class 1), somewhere in the frame, on the
    burst candidates; idle candidates hold only noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(num_clips) % 2
    stacks = rng.normal(0.0, 0.05, size=(num_clips, num_candidates, 3, size, size))
    in_burst = np.zeros((num_clips, num_candidates), dtype=bool)
    for clip, label in enumerate(labels):
        for position in rng.choice(np.arange(1, num_candidates), size=2, replace=False):  # 0 has no predecessor
            y, x = rng.integers(4, size - 12, size=2)
            stacks[clip, position, :, y:y + 8, x:x + 8] += 1.0 if label == 0 else -1.0
            in_burst[clip, position] = True
    return MotionData(stacks.astype(np.float16), in_burst, labels)


def test_within_clip_energy_ranks_the_frames_where_something_moves_first() -> None:
    data = _clips(2)
    picked = np.argsort(-within_clip_energy(data.stacks), axis=1)[:, :2]
    assert np.take_along_axis(data.in_burst, picked, axis=1).all()
    assert np.isneginf(within_clip_energy(data.stacks)[:, 0]).all()  # no predecessor, no difference


@pytest.mark.parametrize("supervision", ["burst", "clip", "energy"])
def test_probe_learns_a_motion_that_tells_two_classes_apart(supervision: str) -> None:
    settings = ProbeSettings(epochs=6, batch_size=8, max_roll_px=2, energy_frames=2)
    accuracy = burst_frame_accuracy(_clips(0), _clips(1), 2, supervision, settings)  # type: ignore[arg-type]
    assert accuracy >= 0.9
