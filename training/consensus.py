"""How a clip's class is read from the class probabilities of its chosen candidates (TSN consensus).

The plain consensus averages the chosen frames' probabilities. With `confidence_power` > 0 each frame counts by
its top probability to that power: an idle frame that slipped into the picks is ambiguous (on the articulated
family idle frames' mean top probability is 0.45 against 0.61 in the burst), so its vote weighs less. Every
strategy (SMART, uniform, dense) reads its frames the same way, so their accuracies stay comparable. Off in the
motion recipe: it lifted dense far more than SMART (`training/motion_energy_experiments.md`).
"""

from __future__ import annotations

import torch


def clip_consensus(probabilities: torch.Tensor, confidence_power: float = 0.0) -> torch.Tensor:
    """[N,k,C] chosen frames' class probabilities -> [N,C] the clip's: their mean, each frame weighted by its
    top probability to `confidence_power` (0: the plain mean)."""
    if confidence_power == 0:
        return probabilities.mean(dim=1)
    weights = probabilities.amax(dim=-1, keepdim=True) ** confidence_power
    return (weights * probabilities).sum(dim=1) / weights.sum(dim=1)
