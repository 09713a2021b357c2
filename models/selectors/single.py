"""Single-frame selector delta_i: a 2-layer MLP scoring each frame on its own (SMART.md section 3)."""

from __future__ import annotations

import torch
from torch import nn


class SingleFrameSelector(nn.Module):
    """X [..., D] -> logit [...]; delta = sigmoid(logit) estimates the oracle's GT-class probability."""

    def __init__(self, input_dim: int, hidden_dim: int = 512, dropout: float = 0.5) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(input_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden_dim, 1)
        )

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.mlp(frames).squeeze(-1)

    def scores(self, frames: torch.Tensor) -> torch.Tensor:
        """delta_i in (0, 1)."""
        return torch.sigmoid(self.forward(frames))
