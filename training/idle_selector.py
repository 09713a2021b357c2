"""SMART's idle selector for the motion recipe: a second CNN that tells the action from the distractors' motion,
trained on idle candidates mined from the training clips, masks unread (issue 11).

The recipe's selector energy puts a fifth of its picks on motion that is not the action (bouncing balls, swaying
figures). Idle clips of the same scenes, trained as a class of their own, taught a CNN that motion (in-burst +0.02
on the articulated bench, `training/motion_energy_experiments.md`), but a training set rarely holds idle clips. The
training clips hold the same motion, though, and the trained classifier's features find it: among each clip's most
energetic candidates, the distractors' look alike in every class, so their nearest candidates of other clips
(cosine, the classifier's features) mostly carry other labels, while an action's carry its own. On the articulated
training clips (seed 0's classifier, each clip's 8 most energetic candidates), those whose 10 neighbours carry their
label less than 20 % of the time lie in a burst 13 % of the time, those at 80 % or more 90 %. The mined candidates
train one class more, idle, beside the classifier's own picks with their clips' labels; SMART's score is the energy
+ `weight` x (1 - the probability of idle). The classifier is not this CNN: it reads only SMART's n picks, so every
strategy is classified alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

_ROWS_PER_BLOCK = 1024  # candidates compared at once: the similarity block stays small on a large training set


class IdleSelectorSettings(BaseModel):
    """Which training candidates are mined as idle, and how much SMART's score weighs the selector."""

    model_config = ConfigDict(frozen=True)

    pool: int = Field(12, ge=1, description="Most energetic candidates of each training clip (the selector's energy) "
                      "the idle ones are mined from.")
    neighbours: int = Field(10, ge=1, description="Nearest pooled candidates of other clips (cosine similarity of "
                            "the classifier's features) each pooled candidate is compared with.")
    purity_cut: float = Field(0.4, gt=0, le=1, description="A pooled candidate whose neighbours carry its clip's "
                              "label less often than this is idle.")
    weight: float = Field(2.0, ge=0, description="SMART's score: the energy + this x (1 - the selector's "
                          "probability of idle).")


@dataclass(frozen=True)
class IdleSelector:
    """The trained selector CNN (or its exported copy): the classes' outputs, then idle, last."""

    model: nn.Module
    weight: float


@dataclass(frozen=True)
class MinedCandidates:
    """[M] (clip, position) of the candidates mined as idle, and the pool's neighbour purity they were mined by."""

    clips: np.ndarray
    positions: np.ndarray
    pool_purity: np.ndarray  # [N, pool], each clip's pooled candidates, most energetic first


def neighbour_purity(features: np.ndarray, labels: np.ndarray, clips: np.ndarray, neighbours: int) -> np.ndarray:
    """[M,F] candidates' features, [M] their clips' labels, [M] their clips -> [M]: the share of each candidate's
    `neighbours` nearest candidates of other clips (cosine similarity) that carry its label."""
    unit = features / (np.linalg.norm(features, axis=1, keepdims=True) + 1e-12)
    purity = np.empty(len(unit), dtype=np.float64)
    for start in range(0, len(unit), _ROWS_PER_BLOCK):
        rows = slice(start, start + _ROWS_PER_BLOCK)
        similarity = unit[rows] @ unit.T
        similarity[clips[rows, None] == clips[None, :]] = -np.inf  # a clip's own candidates are no evidence
        count = min(neighbours, len(unit) - 1)
        nearest = np.argpartition(-similarity, count - 1, axis=1)[:, :count]
        purity[rows] = (labels[nearest] == labels[rows, None]).mean(axis=1)
    return purity


def mine_idle_candidates(features: np.ndarray, energy: np.ndarray, labels: np.ndarray,
                         settings: IdleSelectorSettings) -> MinedCandidates:
    """[N,T,F] features, [N,T] selector energy, [N] labels -> the candidates among each clip's `pool` most
    energetic whose neighbours (`neighbour_purity`) carry its label less often than `purity_cut`."""
    if len(np.unique(labels)) < 2:
        raise ValueError("mining idle candidates needs clips of two classes or more: the neighbours' labels are "
                         "the evidence")
    pool = np.argsort(-energy, axis=1, kind="stable")[:, :settings.pool]
    clips = np.repeat(np.arange(len(labels)), pool.shape[1])
    positions = pool.ravel()
    purity = neighbour_purity(features[clips, positions], labels[clips], clips, settings.neighbours)
    idle = purity < settings.purity_cut
    return MinedCandidates(clips[idle], positions[idle], purity.reshape(pool.shape))


def idle_training_frames(picks: np.ndarray, labels: np.ndarray, mined: MinedCandidates,
                         idle_class: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[N,k] classifier picks, [N] labels, the mined candidates -> [M] clips, positions and targets the selector
    trains on: each pick with its clip's label unless it was mined, then every mined candidate as `idle_class`."""
    clips = np.repeat(np.arange(len(labels)), picks.shape[1])
    positions = picks.ravel()
    mined_keys = set(zip(mined.clips.tolist(), mined.positions.tolist(), strict=True))
    kept = np.array([(clip, position) not in mined_keys
                     for clip, position in zip(clips.tolist(), positions.tolist(), strict=True)], dtype=bool)
    return (np.concatenate([clips[kept], mined.clips]), np.concatenate([positions[kept], mined.positions]),
            np.concatenate([labels[clips[kept]], np.full(len(mined.clips), idle_class)]).astype(np.int64))


def idle_scores(idle_probability: np.ndarray, energy: np.ndarray, weight: float) -> np.ndarray:
    """[N,T] the selector's probability of idle and the selector energy -> SMART's [N,T] score."""
    return energy + weight * (1.0 - idle_probability)
