"""A learned, class-agnostic selector for the motion recipe: which candidates carry the label's evidence.

Fitted on the training clips after the motion CNN: a ridge regression from each candidate's frozen CNN features,
motion energy and head confidence to the trained head's probability of the clip's own label (the label is known
in training; at test time the selector needs none). SMART's score is then the energy plus this prediction, in
units of the training predictions' standard deviation, so the two weigh alike. The masks are never read.

Temporal context in the selector's input (the neighbouring candidates' inputs appended to a candidate's, edges
repeated) does not help. Fitted in-sample on seed 0's validation split (144 training clips, 48 held out, the
recorded 40-epoch model, ridge 1 / 10 / 100; accuracy): own inputs only 0.771 / 0.750 / 0.750; with t+1's 0.792
at each ridge (one clip); t-1's 0.708; t-1 and t+1's 0.688 / 0.688 / 0.750; t+1 and t+2's 0.750 / 0.729 / 0.708;
t-1, t+1 and t+2's 0.750 / 0.729 / 0.708; t-2 to t+2 0.729 / 0.750 / 0.708; the mean of t-1 and t+1's 0.750. On
the bench (each seed's recorded model of all 192 training clips, 96 bench clips, seeds 0-2) t+1's inputs lose a
clip on every seed: SMART 0.792 / 0.781 / 0.792 -> 0.781 / 0.771 / 0.781 (t-1 and t+1: 0.792 / 0.771 / 0.781).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import nn

# A clip's first candidate has no predecessor: its energy is -inf, a finite stand-in keeps the regression finite.
NO_PREDECESSOR_ENERGY = -5.0


@dataclass(frozen=True)
class EvidenceSelector:
    mean: np.ndarray  # [F+2] of the inputs over the training candidates
    scale: np.ndarray  # [F+2] their standard deviation
    weights: np.ndarray  # [F+2] ridge weights on the standardised inputs
    prediction_sd: float  # standard deviation of the training predictions


class ExportedMotionModel(Protocol):
    """An exported copy of the CNN that gives its head's input beside its logits (`models.motion_export`)."""

    def features_and_logits(self, stacks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


def _features_and_logits(model: nn.Sequential | ExportedMotionModel,
                         stacks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(model, nn.Sequential):
        features = model[0](stacks)
        return features, model[-1](features)
    return model.features_and_logits(stacks)


@torch.no_grad()
def features_and_probabilities(model: nn.Sequential | ExportedMotionModel,
                               stacks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[N,T,depth,S,S] -> the encoder's features [N,T,F] and the head's class probabilities [N,T,C] of a
    `training.motion_energy` model (encoder, dropout, linear head) or of its exported copy (fp32 or int8)."""
    if isinstance(model, nn.Module):
        model.eval()
    outputs = [_features_and_logits(model, torch.from_numpy(clip).float()) for clip in stacks]
    return (torch.stack([features for features, _ in outputs]).numpy(),
            torch.stack([torch.softmax(logits, dim=-1) for _, logits in outputs]).numpy())


def selector_inputs(features: np.ndarray, probabilities: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """[N,T,F], [N,T,C], [N,T] -> [N,T,F+2]: features, energy (finite) and the head's top probability."""
    finite_energy = np.where(np.isfinite(energy), energy, NO_PREDECESSOR_ENERGY)
    return np.concatenate([features, finite_energy[..., None], probabilities.max(axis=-1, keepdims=True)], axis=-1)


def fit_evidence_selector(inputs: np.ndarray, probabilities: np.ndarray, labels: np.ndarray,
                          ridge: float) -> EvidenceSelector:
    """Ridge regression of each training candidate's probability of its clip's label on its `selector_inputs`."""
    rows = inputs.reshape(-1, inputs.shape[-1]).astype(np.float64)
    mean, scale = rows.mean(axis=0), rows.std(axis=0) + 1e-6
    standardised = (rows - mean) / scale
    target = probabilities[np.arange(len(labels)), :, labels].reshape(-1).astype(np.float64)
    weights = np.linalg.solve(standardised.T @ standardised + ridge * np.eye(rows.shape[1]),
                              standardised.T @ (target - target.mean()))
    return EvidenceSelector(mean, scale, weights, float((standardised @ weights).std()) + 1e-12)


def evidence_scores(selector: EvidenceSelector, inputs: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """[N,T] SMART scores: the energy plus the predicted label evidence in training-prediction sds."""
    predicted = ((inputs - selector.mean) / selector.scale) @ selector.weights
    return (energy + predicted / selector.prediction_sd).astype(np.float32)
