from __future__ import annotations

import numpy as np
import torch

from training.motion_mil import (
    MotionMil,
    MotionMilSettings,
    _inputs,
    _split,
    score_clips,
    strategy_scores,
    train_motion_mil,
)
from training.motion_probe import MotionData


def _clips(seed: int, num_clips: int = 24, num_candidates: int = 8, size: int = 16) -> MotionData:
    """Two 'actions' on two burst candidates of each clip: a horizontal bar (class 0) or a vertical bar
    (class 1) that moves, somewhere in the frame; idle candidates hold a small square (the distractor ball)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(num_clips) % 2
    stacks = rng.normal(0.0, 0.05, size=(num_clips, num_candidates, 3, size, size))
    in_burst = np.zeros((num_clips, num_candidates), dtype=bool)
    for clip, label in enumerate(labels):
        burst = rng.choice(np.arange(1, num_candidates), size=2, replace=False)  # 0 has no predecessor
        for position in range(1, num_candidates):
            y, x = rng.integers(2, size - 8, size=2)
            if position in burst:
                height, width = (2, 6) if label == 0 else (6, 2)
                stacks[clip, position, :, y:y + height, x:x + width] += 1.5
                in_burst[clip, position] = True
            else:
                stacks[clip, position, :, y:y + 2, x:x + 2] += 1.0
    return MotionData(stacks.astype(np.float16), in_burst, labels)


def test_split_holds_out_a_share_of_every_class_and_keeps_the_rest() -> None:
    labels = np.repeat(np.arange(4), 10)
    fit, validation = _split(labels, 0.2, np.random.default_rng(0))
    assert np.intersect1d(fit, validation).size == 0
    assert len(fit) + len(validation) == len(labels)
    assert np.bincount(labels[validation]).tolist() == [2, 2, 2, 2]


def test_the_first_candidate_is_never_attended() -> None:
    _, energy = _inputs(_clips(0), pool=1)
    assert (energy[:, 0] < energy[:, 1:].min()).all()


def test_model_shapes() -> None:
    settings = MotionMilSettings(width=8)
    model = MotionMil(3, 5, settings)
    frame_logits, attention = model(torch.zeros(2, 4, 3, 16, 16), torch.zeros(2, 4))
    assert frame_logits.shape == (2, 4, 5) and attention.shape == (2, 4)


def test_mask_free_training_finds_the_bursts_and_tells_the_classes_apart() -> None:
    settings = MotionMilSettings(pool=1, width=8, epochs=12, batch_clips=4, budget=2, max_roll_px=2,
                                 validation_share=0.25, learning_rate=5e-3)
    model = train_motion_mil(_clips(0), 2, settings)
    test = _clips(1)
    stacks, energy = _inputs(test, settings.pool)
    scores = score_clips(model, stacks, energy, test.labels, test.in_burst, settings.budget)
    assert scores.in_burst["smart"] >= 0.9
    assert scores.accuracy["smart"] >= 0.9


def test_oracle_picks_the_burst_candidates_the_selector_misses() -> None:
    """The head is right on burst candidates and wrong elsewhere; the selector prefers idle ones. SMART is
    wrong, the oracle (picks from the masks) right: the gap is the selector's."""
    labels = np.asarray([0, 1])
    in_burst = np.zeros((2, 6), dtype=bool)
    in_burst[:, 2:4] = True
    probabilities = torch.zeros(2, 6, 2)
    probabilities[np.arange(2), :, 1 - labels] = 0.6
    probabilities[np.arange(2), :, labels] = 0.4
    probabilities[:, 2:4] = probabilities[:, 2:4].flip(-1)
    selector = torch.tensor([[-torch.inf, 5.0, 1.0, 0.0, 4.0, 3.0]] * 2)
    scores = strategy_scores(probabilities, selector, labels, in_burst, budget=2)
    assert scores.accuracy["smart"] == 0.0 and scores.in_burst["smart"] == 0.0
    assert scores.accuracy["oracle"] == 1.0 and scores.in_burst["oracle"] == 1.0
    assert "oracle" not in strategy_scores(probabilities, selector, labels, None, budget=2).accuracy
