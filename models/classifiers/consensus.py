"""TSN consensus: the clip prediction is the mean of the per-frame softmax over the selected frames."""

from __future__ import annotations

import torch


def tsn_consensus(frame_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """frame_logits [B,K,C], mask [B,K] bool -> clip probabilities [B,C] (padded frames ignored)."""
    weights = mask.to(frame_logits.dtype).unsqueeze(-1)
    probabilities = torch.softmax(frame_logits, dim=-1) * weights
    return probabilities.sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
