import numpy as np
import torch

from training.consensus import clip_consensus
from training.motion_mil import strategy_scores


def _one_sure_two_unsure() -> torch.Tensor:
    """One clip, three frames over three classes: one frame sure of class 0, two leaning to class 1 (mean: 0.30
    for class 0, 0.38 for class 1)."""
    return torch.tensor([[[0.70, 0.15, 0.15], [0.10, 0.50, 0.40], [0.10, 0.50, 0.40]]])


def test_power_zero_is_the_plain_mean() -> None:
    probabilities = torch.softmax(torch.randn(4, 5, 6), dim=-1)
    assert torch.allclose(clip_consensus(probabilities, 0.0), probabilities.mean(dim=1))


def test_confidence_weighting_lets_the_sure_frame_outvote_the_unsure_ones() -> None:
    probabilities = _one_sure_two_unsure()
    assert clip_consensus(probabilities, 0.0).argmax(dim=1).item() == 1
    weighted = clip_consensus(probabilities, 4.0)
    assert weighted.argmax(dim=1).item() == 0
    assert torch.allclose(weighted.sum(dim=1), torch.ones(1))


def test_strategy_scores_read_every_strategy_with_the_same_consensus() -> None:
    probabilities = _one_sure_two_unsure()
    selector = torch.tensor([[3.0, 2.0, 1.0]])
    labels = np.array([0])
    plain = strategy_scores(probabilities, selector, labels, None, budget=3)
    weighted = strategy_scores(probabilities, selector, labels, None, budget=3, confidence_power=4.0)
    assert plain.accuracy["smart"] == 0.0 and plain.accuracy["dense"] == 0.0
    assert weighted.accuracy["smart"] == 1.0 and weighted.accuracy["dense"] == 1.0
