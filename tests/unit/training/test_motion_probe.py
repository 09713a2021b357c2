from __future__ import annotations

import numpy as np
import pytest

from training.motion_probe import MotionData, ProbeSettings, burst_frame_accuracy


def _clips(seed: int, num_clips: int = 16, num_candidates: int = 6, size: int = 32) -> MotionData:
    """Two 'actions': a blob that brightens (class 0) or darkens (class 1), somewhere in the frame, on the
    burst candidates; idle candidates hold only noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(num_clips) % 2
    stacks = rng.normal(0.0, 0.05, size=(num_clips, num_candidates, 3, size, size))
    in_burst = np.zeros((num_clips, num_candidates), dtype=bool)
    for clip, label in enumerate(labels):
        for position in rng.choice(num_candidates, size=2, replace=False):
            y, x = rng.integers(4, size - 12, size=2)
            stacks[clip, position, :, y:y + 8, x:x + 8] += 1.0 if label == 0 else -1.0
            in_burst[clip, position] = True
    return MotionData(stacks.astype(np.float16), in_burst, labels)


@pytest.mark.parametrize("supervision", ["burst", "clip"])
def test_probe_learns_a_motion_that_tells_two_classes_apart(supervision: str) -> None:
    settings = ProbeSettings(epochs=6, batch_size=8, max_roll_px=2)
    accuracy = burst_frame_accuracy(_clips(0), _clips(1), 2, supervision, settings)  # type: ignore[arg-type]
    assert accuracy >= 0.9
