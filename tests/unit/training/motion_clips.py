"""Tiny difference-stack clips for the motion recipe's tests."""

from __future__ import annotations

import numpy as np

from training.motion_probe import MotionData


def bar_clips(seed: int, num_clips: int = 16, num_candidates: int = 8, size: int = 16,
              distractor: bool = False) -> MotionData:
    """Two 'actions' on three consecutive burst candidates of each clip: a horizontal bar (class 0) or a vertical
    bar (class 1) that moves, somewhere in the frame; the other candidates are noise, and with `distractor` one
    idle candidate holds a bright ball."""
    rng = np.random.default_rng(seed)
    labels = np.arange(num_clips) % 2
    stacks = rng.normal(0.0, 0.05, size=(num_clips, num_candidates, 3, size, size))
    stacks[:, 0] = 0.0  # no predecessor
    in_burst = np.zeros((num_clips, num_candidates), dtype=bool)
    for clip, label in enumerate(labels):
        start = int(rng.integers(1, num_candidates - 3))
        for position in range(start, start + 3):
            y, x = rng.integers(2, size - 8, size=2)
            height, width = (2, 6) if label == 0 else (6, 2)
            stacks[clip, position, :, y:y + height, x:x + width] += 1.5
            in_burst[clip, position] = True
        if distractor:
            ball = rng.choice(np.flatnonzero(~in_burst[clip][1:]) + 1)
            stacks[clip, ball, :, 4:7, 4:7] += 1.5
    return MotionData(stacks.astype(np.float16), in_burst, labels)
