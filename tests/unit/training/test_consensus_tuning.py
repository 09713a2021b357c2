from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tests.unit.training.motion_clips import bar_clips
from training.consensus_tuning import ConsensusTuning, consensus_fine_tune
from training.motion_energy import (
    MotionEnergySettings,
    energy_picks,
    recipe_input,
    score_clips,
    train_motion_energy,
    train_on_energy_picks,
)
from training.motion_probe import MotionData

_SETTINGS = MotionEnergySettings(width=8, epochs=12, batch_size=8, picks_per_clip=3, budget=2, max_roll_px=2,
                                 learning_rate=5e-3, self_training_rounds=0)


@torch.no_grad()
def _consensus_loss(model: nn.Sequential, data: MotionData, picks: np.ndarray) -> float:
    model.eval()
    chosen = torch.from_numpy(np.take_along_axis(data.stacks, picks[:, :, None, None, None], axis=1)).float()
    logits = model(chosen.flatten(0, 1)).view(*picks.shape, -1).mean(dim=1)
    return float(nn.functional.cross_entropy(logits, torch.from_numpy(data.labels)))


def test_the_fine_tune_lowers_the_loss_of_each_clips_consensus_on_its_picks() -> None:
    data = recipe_input(bar_clips(0), _SETTINGS)
    picks = energy_picks(data.stacks, 2, _SETTINGS)
    model = train_on_energy_picks(data, 2, _SETTINGS.model_copy(update={"epochs": 1}))
    before = _consensus_loss(model, data, picks)
    consensus_fine_tune(model, data.stacks, data.labels, picks, ConsensusTuning(epochs=8, learning_rate=5e-3),
                        weight_decay=0.0, label_smoothing=0.0, max_roll_px=2, seed=0)
    assert _consensus_loss(model, data, picks) < 0.7 * before


def test_the_recipe_fine_tunes_only_when_asked_and_still_reads_the_bursts() -> None:
    data, test = bar_clips(0), bar_clips(1)
    plain = train_motion_energy(data, 2, _SETTINGS)
    tuned_settings = _SETTINGS.model_copy(update={"consensus_tuning": ConsensusTuning(epochs=4, learning_rate=5e-3)})
    tuned = train_motion_energy(data, 2, tuned_settings)
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(),
                                                 train_motion_energy(data, 2, _SETTINGS).state_dict().values(),
                                                 strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), tuned.state_dict().values(),
                                                     strict=True))
    scores = score_clips(tuned, test, tuned_settings)
    assert scores.accuracy["smart"] >= 0.9
    assert scores.in_burst["smart"] >= 0.9
