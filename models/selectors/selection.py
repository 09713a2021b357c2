"""Score fusion and top-n selection in time order (SMART.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Selection:
    """Selected frame indices per window, in time order; `mask` marks real entries (dense keeps padding)."""

    indices: torch.Tensor  # [B,K] long
    mask: torch.Tensor  # [B,K] bool


def fuse_scores(delta: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """s_i = delta_i * gamma_i."""
    return delta * gamma


def spread_indices(lengths: torch.Tensor, num_frames: int) -> torch.Tensor:
    """n indices at the centres of n equal segments of each window's valid prefix (repeats when L < n)."""
    positions = (torch.arange(num_frames, dtype=torch.float64, device=lengths.device) + 0.5) / num_frames
    indices = torch.floor(positions.unsqueeze(0) * lengths.unsqueeze(1).to(torch.float64)).long()
    return torch.minimum(indices, (lengths.unsqueeze(1) - 1).clamp(min=0))


def top_n_in_time_order(scores: torch.Tensor, mask: torch.Tensor, num_frames: int) -> Selection:
    """Keep the n best valid frames (ties go to the earlier frame), then sort them by time.

    A window with fewer than n valid frames repeats its frames, spread in time order.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    batch, steps = scores.shape
    lengths = mask.sum(dim=1)
    ranked = scores.masked_fill(~mask, float("-inf"))
    take = min(num_frames, steps)
    # A stable descending sort keeps equal scores in time order, so ties break towards earlier frames.
    best = torch.sort(ranked, dim=1, descending=True, stable=True).indices[:, :take]
    best = torch.sort(best, dim=1).values
    if take < num_frames:
        best = torch.cat([best, best[:, -1:].expand(batch, num_frames - take)], dim=1)
    short = (lengths < num_frames).unsqueeze(1)
    indices = torch.where(short, spread_indices(lengths, num_frames), best)
    return Selection(indices=indices, mask=torch.ones_like(indices, dtype=torch.bool))


def gather_frames(frames: torch.Tensor, selection: Selection) -> torch.Tensor:
    """frames [B,T,D] -> [B,K,D] along the selection."""
    index = selection.indices.unsqueeze(-1).expand(-1, -1, frames.shape[-1])
    return torch.gather(frames, 1, index)
