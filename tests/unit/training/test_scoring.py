from __future__ import annotations

import numpy as np
import torch

from models.selectors import create_strategy
from training.features import FeatureSet
from training.scoring import end_to_end


class BurstScorer:
    """Frames whose first feature is 1 vote for the clip's class (from feature 1); others are flat."""

    kind = "fake"

    def frame_logits(self, data: FeatureSet, rows: np.ndarray, indices: torch.Tensor) -> torch.Tensor:
        frames = torch.from_numpy(data.representation[rows])
        picked = torch.gather(frames, 1, indices.unsqueeze(-1).expand(-1, -1, frames.shape[-1]))
        votes = torch.nn.functional.one_hot(picked[..., 1].long(), 2).float() * 10 * picked[..., :1]
        return votes

    def frame_probabilities(self, data: FeatureSet) -> np.ndarray:
        steps = data.representation.shape[1]
        everything = torch.arange(steps).expand(len(data.labels), steps)
        return torch.softmax(self.frame_logits(data, np.arange(len(data.labels)), everything), dim=-1).numpy()

    def flops_per_frame(self) -> int:
        return 1


def test_end_to_end_selects_then_classifies_with_consensus() -> None:
    steps = 8
    representation = np.zeros((2, steps, 2), dtype=np.float32)
    representation[0, 2:4, 0] = 1.0  # clip 0: informative frames 2-3, class 0
    representation[1, 5:7, 0] = 1.0  # clip 1: informative frames 5-6, class 1
    representation[1, :, 1] = 1.0
    mask = np.ones((2, steps), bool)
    data = FeatureSet(["a", "b"], representation, mask, np.array([0, 1]), np.zeros((2, steps), int))
    result = end_to_end(create_strategy("dense"), BurstScorer(), data, num_frames=2)
    assert result.predictions.tolist() == [0, 1]
    assert result.frames_per_clip == steps
    assert result.probabilities.shape == (2, 2)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, rtol=1e-6)
    uniform = end_to_end(create_strategy("uniform"), BurstScorer(), data, num_frames=2)
    assert [list(indices) for indices in uniform.selected] == [[2, 6], [2, 6]]
    assert BurstScorer().frame_probabilities(data).shape == (2, steps, 2)
