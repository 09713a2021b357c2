"""`shared` classifier: a trained head on the encoder's frame representations (no second CNN pass)."""

from __future__ import annotations

import torch
from torch import nn


class SharedHead(nn.Module):
    """X [..., D] -> per-frame action logits [..., C]."""

    def __init__(self, input_dim: int, num_classes: int, hidden_dim: int = 256, dropout: float = 0.3) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.mlp = nn.Sequential(
            nn.Dropout(dropout / 2), nn.Linear(input_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden_dim, num_classes),
        )

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.mlp(frames)
