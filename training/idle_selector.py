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
train one class more, idle, beside the pooled candidates whose neighbours mostly carry their own label, with their
clips' labels (the classifier's own training picks, a third of them idle, taught it that idle motion is an action
too). Bursts last several candidates and a distractor's motion comes and goes, so SMART's score is the energy +
`weight` x the probability of an action averaged over the candidate and its two neighbours, that average
standardised within the window as the energy is: in a clip whose action the selector sees only faintly (its
probabilities low on the burst too), the energy would otherwise outweigh it. Then a second round: the selector
trains again with its action class re-mined as each training clip's 6 candidates that SMART ranks first with the
first round's selector, and the mined idle ones outside them. On a validation split that is more action frames
(864 against 640) though fewer of them in a burst (0.73 against 0.78), and why it helps was not traced; on the
articulated bench the picks' in-burst share goes 0.841 -> 0.852 over three seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

_ROWS_PER_BLOCK = 1024  # candidates compared at once: the similarity block stays small on a large training set

EvidenceScale = Literal["standardised", "probability"]


class IdleSelectorSettings(BaseModel):
    """Which training candidates are mined as idle, and how much SMART's score weighs the selector."""

    model_config = ConfigDict(frozen=True)

    pool: int = Field(12, ge=1, description="Most energetic candidates of each training clip (the selector's energy) "
                      "the idle ones are mined from.")
    neighbours: int = Field(10, ge=1, description="Nearest pooled candidates of other clips (cosine similarity of "
                            "the classifier's features) each pooled candidate is compared with.")
    purity_cut: float = Field(0.4, gt=0, le=1, description="A pooled candidate whose neighbours carry its clip's "
                              "label less often than this is idle.")
    action_purity: float = Field(0.7, gt=0, le=1, description="A pooled candidate whose neighbours carry its "
                                 "clip's label at least this often trains as its clip's action (between the two "
                                 "cuts: neither).")
    second_round_picks: int = Field(6, ge=0, description="A second round: the selector trains again, its action "
                                    "class re-mined as each training clip's this many candidates ranked first by "
                                    "SMART's score under the first round's selector, with the clip's label (mined "
                                    "idle candidates among them leave the idle class; at most all but one of a "
                                    "window's candidates). 0: one round.")
    weight: float = Field(0.6, ge=0, description="SMART's score: the energy + this x the selector's probability of "
                          "an action (1 - idle), averaged over the candidate and its neighbours, on the scale "
                          "`evidence` says (the probability as it is: 2 scored best).")
    neighbour_share: float = Field(0.5, ge=0, lt=1, description="Share of that average taken by the two "
                                   "neighbouring candidates, half each (0: the candidate's own probability).")
    evidence: EvidenceScale = Field("standardised", description="How the score reads that average: standardised "
                                    "within the window (its median, its standard deviation) as the energy is, so "
                                    "a clip whose action the selector sees only faintly still ranks its candidates "
                                    "by it; or the probability as it is.")

    @model_validator(mode="after")
    def _an_action_is_purer_than_idle(self) -> IdleSelectorSettings:
        if self.action_purity < self.purity_cut:
            raise ValueError("action_purity must be at least purity_cut: a candidate cannot train as both idle and "
                             "an action")
        return self


@dataclass(frozen=True)
class IdleSelector:
    """The trained selector CNN (or its exported copy): the classes' outputs, then idle, last."""

    model: nn.Module
    settings: IdleSelectorSettings


@dataclass(frozen=True)
class MinedCandidates:
    """[M] (clip, position) of the candidates mined as idle, and the pool they were mined from with its neighbour
    purity."""

    clips: np.ndarray
    positions: np.ndarray
    pool_positions: np.ndarray  # [N, pool], each clip's pooled candidates, most energetic first
    pool_purity: np.ndarray  # [N, pool], theirs


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
    return MinedCandidates(clips[idle], positions[idle], pool, purity.reshape(pool.shape))


def idle_training_frames(labels: np.ndarray, mined: MinedCandidates, settings: IdleSelectorSettings,
                         idle_class: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[N] labels, the mined candidates -> [M] clips, positions and targets the selector trains on: each pooled
    candidate whose neighbours carry its label at least `action_purity` of the time with its clip's label, then
    every mined candidate as `idle_class`."""
    action_clips, action_slots = np.nonzero(mined.pool_purity >= settings.action_purity)
    return (np.concatenate([action_clips, mined.clips]),
            np.concatenate([mined.pool_positions[action_clips, action_slots], mined.positions]),
            np.concatenate([labels[action_clips], np.full(len(mined.clips), idle_class)]).astype(np.int64))


def second_round_frames(labels: np.ndarray, mined: MinedCandidates, scores: np.ndarray, picks: int,
                        idle_class: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[N] labels, the mined candidates, [N,T] SMART's scores of the training clips under the first round's selector
    -> the second round's [M] clips, positions and targets: each clip's `picks` candidates ranked first with its
    label (in a window of `picks` candidates or fewer, all but its last ranked), then the mined idle candidates
    outside them as `idle_class`."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :min(picks, scores.shape[1] - 1)]  # one left for idle
    action_clips, action_positions = np.repeat(np.arange(len(labels)), top.shape[1]), top.ravel()
    picked = np.zeros(scores.shape, dtype=bool)
    picked[action_clips, action_positions] = True
    idle = ~picked[mined.clips, mined.positions]
    return (np.concatenate([action_clips, mined.clips[idle]]),
            np.concatenate([action_positions, mined.positions[idle]]),
            np.concatenate([labels[action_clips], np.full(int(idle.sum()), idle_class)]).astype(np.int64))


def idle_scores(idle_probability: np.ndarray, energy: np.ndarray, settings: IdleSelectorSettings) -> np.ndarray:
    """[N,T] the selector's probability of idle and the selector energy -> SMART's [N,T] score: the energy +
    `weight` x the probability of an action, averaged with the two neighbouring candidates' (`neighbour_share`;
    the first and last candidates count themselves in place of the neighbour they lack), standardised within each
    window unless `evidence` is the probability."""
    action = 1.0 - idle_probability
    padded = np.pad(action, ((0, 0), (1, 1)), mode="edge")
    averaged = (1.0 - settings.neighbour_share) * action + settings.neighbour_share / 2 * (padded[:, :-2]
                                                                                             + padded[:, 2:])
    if settings.evidence == "standardised":
        median = np.median(averaged, axis=1, keepdims=True)
        averaged = (averaged - median) / (averaged.std(axis=1, keepdims=True) + 1e-6)
    return energy + settings.weight * averaged
