from __future__ import annotations

import numpy as np

from training.motion_energy import MotionEnergySettings, energy_picks, score_clips, train_on_energy_picks
from training.motion_probe import MotionData


def _clips(seed: int, num_clips: int = 16, num_candidates: int = 8, size: int = 16) -> MotionData:
    """Two 'actions' on three consecutive burst candidates of each clip: a horizontal bar (class 0) or a
    vertical bar (class 1) that moves, somewhere in the frame; one idle candidate holds a bright ball."""
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
        ball = rng.choice(np.flatnonzero(~in_burst[clip][1:]) + 1)
        stacks[clip, ball, :, 4:7, 4:7] += 1.5
    return MotionData(stacks.astype(np.float16), in_burst, labels)


def test_energy_picks_land_in_the_bursts() -> None:
    data = _clips(0)
    picks = energy_picks(data.stacks, 2)
    assert np.take_along_axis(data.in_burst, picks, axis=1).mean() >= 0.9


def test_training_on_energy_picks_selects_the_bursts_and_tells_the_classes_apart() -> None:
    settings = MotionEnergySettings(width=8, epochs=12, batch_size=8, picks_per_clip=3, budget=2, max_roll_px=2,
                                    learning_rate=5e-3)
    model = train_on_energy_picks(_clips(0), 2, settings)
    scores = score_clips(model, _clips(1), settings)
    assert scores.in_burst["smart"] >= 0.9
    assert scores.accuracy["smart"] >= 0.9
