"""The classifier-on-burst-frames ceiling of `bench selection`: which frames it hands the classifier and how it
scores them."""

from __future__ import annotations

import numpy as np
import torch

from bench.selection import burst_frames_accuracy, burst_positions
from training.features import FeatureSet

STEPS, CLASSES = 8, 2


class RepresentationLogits:
    """A classifier whose logits are the frames' representations (one column per class)."""

    kind = "fake"

    def frame_logits(self, data: FeatureSet, rows: np.ndarray, indices: torch.Tensor) -> torch.Tensor:
        frames = torch.from_numpy(data.representation[rows])
        return torch.gather(frames, 1, indices.unsqueeze(-1).expand(-1, -1, frames.shape[-1]))

    def frame_probabilities(self, data: FeatureSet) -> np.ndarray:
        return torch.softmax(torch.from_numpy(data.representation), dim=-1).numpy()

    def flops_per_frame(self) -> int:
        return 1


def clips() -> tuple[FeatureSet, dict[str, np.ndarray]]:
    """Two clips of 16 decoded frames, candidates every other frame; the burst votes for the clip's class."""
    frame_indices = np.tile(np.arange(0, 16, 2), (2, 1))
    masks = {"a": np.zeros(16, dtype=bool), "b": np.zeros(16, dtype=bool)}
    masks["a"][4:9] = True  # candidates 2, 3, 4
    masks["b"][13:16] = True  # candidate 7 only
    representation = np.zeros((2, STEPS, CLASSES), dtype=np.float32)
    representation[:, :, 1] = 5.0  # idle frames vote for class 1
    representation[0, 2:5] = [5.0, 0.0]  # clip a (class 0): its burst votes for class 0
    representation[1, 7] = [0.0, 5.0]
    data = FeatureSet(["a", "b"], representation, np.ones((2, STEPS), dtype=bool), np.array([0, 1]), frame_indices)
    return data, masks


def test_positions_spread_over_the_burst_candidates_and_repeat_when_short() -> None:
    data, masks = clips()
    assert burst_positions(masks, data, budget=2).tolist() == [[2, 4], [7, 7]]


def test_a_clip_without_burst_candidates_spreads_over_the_whole_clip() -> None:
    data, masks = clips()
    masks["b"][:] = False
    assert burst_positions(masks, data, budget=2).tolist()[1] == [2, 6]


def test_accuracy_classifies_the_given_frames_by_consensus() -> None:
    data, masks = clips()
    assert burst_frames_accuracy(RepresentationLogits(), data, burst_positions(masks, data, 2)) == 1.0
    idle = torch.tensor([[0, 1], [0, 1]])
    assert burst_frames_accuracy(RepresentationLogits(), data, idle) == 0.5
