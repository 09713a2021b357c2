"""End-to-end scoring: select n frames per clip with a strategy, then classify them (TSN consensus).

This is the metric every training step selects its model on (SMART.md section 7.5) and the one the
evaluation and benchmarks report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from models.classifiers import tsn_consensus
from models.selectors import Selection, SelectionStrategy
from training.features import FeatureSet


class ClipScorer(Protocol):
    """Per-frame action logits of the classifier for chosen frames of chosen clips."""

    kind: str

    def frame_logits(self, data: FeatureSet, rows: np.ndarray, indices: torch.Tensor) -> torch.Tensor:
        """rows [B] into `data`, indices [B,K] candidate positions -> logits [B,K,C]."""
        ...

    def frame_probabilities(self, data: FeatureSet) -> np.ndarray:
        """Softmax of every candidate frame of every clip on its own: [N,T,C]."""
        ...

    def flops_per_frame(self) -> int: ...


@dataclass(frozen=True)
class EndToEndResult:
    predictions: np.ndarray  # [N]
    probabilities: np.ndarray  # [N,C]
    selected: list[np.ndarray]  # per clip, the candidate positions that reached the classifier
    frames_per_clip: float  # mean classifier frames per clip


@torch.no_grad()
def end_to_end(
    strategy: SelectionStrategy, scorer: ClipScorer, data: FeatureSet, num_frames: int, batch_size: int = 64
) -> EndToEndResult:
    probabilities: list[np.ndarray] = []
    selected: list[np.ndarray] = []
    for start in range(0, len(data.labels), batch_size):
        rows = np.arange(start, min(start + batch_size, len(data.labels)))
        frames = torch.from_numpy(data.representation[rows])
        mask = torch.from_numpy(data.mask[rows])
        selection: Selection = strategy.select(frames, mask, num_frames)
        logits = scorer.frame_logits(data, rows, selection.indices)
        probabilities.append(tsn_consensus(logits, selection.mask).numpy())
        selected.extend(
            indices[valid].numpy() for indices, valid in zip(selection.indices, selection.mask, strict=True)
        )
    stacked = np.concatenate(probabilities)
    return EndToEndResult(
        predictions=stacked.argmax(axis=1),
        probabilities=stacked,
        selected=selected,
        frames_per_clip=float(np.mean([len(indices) for indices in selected])),
    )
