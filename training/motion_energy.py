"""Mask-free training of the motion CNN on each clip's high-energy candidates (issue 11, step 1).

Training never reads the burst masks, so it needs its own guess of which candidates show the action:
`models.motion.window_motion_energy` (shake-aligned motion energy, standardised within the clip and smoothed
over neighbouring candidates) puts about half of a clip's top candidates in the burst, against a fifth at random.
The motion CNN and a linear head are trained on each training clip's `picks_per_clip` most energetic candidates
with the clip's label (label noise on the idle picks, but idle frames look alike in every class, so they teach
little that is wrong). Then self-training: each training clip's candidates are re-picked by energy plus the
trained head's probability of the clip's own label (the label is known in training; the distractors' motion
belongs to no class), and the CNN is trained afresh on those picks, `self_training_rounds` times (`bench
selection --recipe motion-energy`, articulated, seeds 0-2: smart 0.628 +- 0.012 without, 0.771 +- 0.036 with two
rounds; the picks' in-burst share does not rise, the classifier trained on them improves). SMART's n
candidates are the top-n by energy plus the label evidence that a selector fitted on the training clips predicts
(`selector` "evidence", `training.evidence_selector`; "confidence": plus 3 x the head's top probability, the
recipe before), classified by TSN consensus. The masks only score the picks (in-burst
share) on the test clips. With `cross_fit_folds` > 1 each round re-picks a fold's clips with a model trained on the
other folds' picks (`cross_fitted_label_picks`), since the model trained on every clip has learnt its own picks'
label, idle ones too. Not the default: on the articulated bench (seed 0, 192 training clips, 4 folds of 20 epochs,
two rounds) the training picks' in-burst share barely moves (0.452 energy, 0.462, 0.465) and SMART reaches 0.635
(oracle 0.698, uniform 0.385, dense 0.448), while in-sample re-picking in the same run lifts the picks to 0.520 and
0.529 and SMART to 0.781 (oracle 0.823, uniform 0.458, dense 0.510): a fold's model, trained on 3/4 of the clips
for half the epochs, re-picks worse than the model that saw them.

Training clips carry more than the selector: on 768 clips of the articulated family (10 epochs, the same steps)
SMART reaches 0.878 +- 0.012 (seeds 0-2) at the same ~0.60 in-burst share, while with the masks' picks (the
`oracle` of `strategy_scores`) the 192-clip models reach 0.781 and 0.792 against SMART's 0.729 and 0.792 (seeds 0,
1): there the per-frame classifier, right on 61 % of burst frames, is the limit.

The energy's per-pixel threshold (`energy_threshold`, a multiple of the window's median |difference|), chosen by
accuracy with the masks unread: seed 0, 20 epochs, 144 training clips, 48 held out (stratified fold 0 of 4), SMART
validation accuracy 0.542 off, 0.729 at 4x, 0.625 at 8x, 0.625 at 16x. Stays off (0): on the articulated bench
(seeds 0-2, 20 epochs both, side by side) 4x lifts SMART's in-burst share 0.556 -> 0.587 and energy alone 0.590 ->
0.615, but SMART goes 0.656 +- 0.028 -> 0.628 +- 0.024 (the 48-clip validation win was noise).

The consensus's confidence weighting (`consensus_power`, `training.consensus`) stays off (0), chosen by accuracy on
seed 0's validation split (40 epochs, 144 training clips, 48 held out, masks unread; one model read every way):
SMART 0.729 at power 0 and 1, 0.708 at 2, 0.688 at 4, 0.708 at 8 (the surest 1, 2 or 3 picks alone: 0.688, 0.688,
0.729), while dense, read the same way, rises 0.417 -> 0.563 at 1 -> 0.688 at 4: idle frames are less sure, but
28 of 32 of them still outvote. On the seed-0 model of all 192 clips and the 96 bench clips, power 0 / 1 / 4:
SMART 0.781 / 0.771 / 0.771, dense 0.510 / 0.604 / 0.698. The scoring-time weight of the confidence in SMART's
selector, on the same validation model: SMART 0.688 / 0.667 / 0.729 / 0.667 / 0.646 at 0 / 1 / 3 / 6 / 10.

Temporal context in the classifier's input (`following_differences`, `training.temporal_context`: each
candidate's stack followed by the newest differences of the next candidates; every strategy reads it), chosen by
accuracy on seed 0's validation split (144 training clips, 48 held out, masks unread, one thread), 0 against 2:
at 20 epochs SMART 0.542 -> 0.563, uniform 0.354 -> 0.438, dense 0.438 -> 0.458, the masks' picks (oracle) 0.625
-> 0.771; at 40 epochs SMART 0.729 -> 0.771, uniform 0.479 -> 0.521, dense 0.417 -> 0.563, oracle 0.729 -> 0.854.
On the articulated bench at 20 epochs (seeds 0-2, side by side, `bench selection --recipe motion-energy --family
articulated --frames 4 --epochs 20 --following-differences 0|2`): SMART 0.656 +- 0.028 -> 0.722 +- 0.043, uniform
0.403 -> 0.431, dense 0.424 -> 0.451, in-burst 0.556 -> 0.589; margins +0.254 +- 0.026 -> +0.292 +- 0.010 over
uniform and +0.233 +- 0.047 -> +0.271 +- 0.018 over dense (larger on every seed, but the dense margin's gain is
within today's spread). At the recipe's 40 epochs (same bench, one process a seed) 2 loses: SMART 0.771 +- 0.036
-> 0.729 +- 0.054 (per seed 0.760 / 0.667 / 0.760), uniform 0.476 -> 0.469, dense 0.517 -> 0.486; margins +0.295 ->
+0.260 over uniform, +0.254 -> +0.243 over dense. Stays 0.

Where SMART's picks fall (masks score only; seed-0 validation model on its 48 held-out clips / seed-0 model of all
192 on the 96 bench clips): 0.547 / 0.544 in a burst, 0.172 / 0.161 on the candidate just after one, 0.062 / 0.076
on the second after, 0.219 / 0.219 on other idle candidates. A candidate after a burst holds the burst's last
differences in its stack, and the head reads it as well as a burst candidate (top-1 right on 0.613 / 0.692 of the
first after, 0.570 / 0.578 of the second, 0.588 / 0.653 in the burst, 0.125 / 0.140 on other idle ones), so the
in-burst share counts as misses picks that carry the action. Label evidence itself is no purer: the head's
probability of the clip's own label, out of sample, puts 0.495 / 0.534 of its top 4 in a burst (0.797 / 0.854 with
the two candidates after). Test-time scores tried on the validation clips (accuracy / in-burst; today 0.729 /
0.547): energy + w x the agreement of a candidate's class distribution with its neighbours' (w 1, 3, 6) 0.688 /
0.594, 0.688 / 0.547, 0.688 / 0.469; energy + 3 x the probability of the class of today's picks' consensus (two
passes) 0.750 / 0.573; the energy smoothed over t..t+2 instead of t-1..t+1 0.688 / 0.562.

`picks_per_clip` on seed 0's validation split (144 / 48 clips, 40 epochs, one thread, masks unread): SMART 0.583
at 4, 0.667 at 6, 0.729 at 8, 0.708 at 12, 0.604 at 16 (uniform 0.271 / 0.354 / 0.479 / 0.479 / 0.396, dense 0.292
/ 0.333 / 0.417 / 0.542 / 0.500) while the training picks' in-burst share after the two rounds goes 0.576 / 0.523
/ 0.488 / 0.413 / 0.341: purer picks are fewer frames, and fewer frames cost more. Stays 8.

The learned selector (`selector` "evidence") chosen by accuracy on seed 0's validation split, masks unread: fitted
on the 144 training clips in-sample, SMART 0.771 (in-burst 0.594) against 0.729 (0.547); variants fitted and read
across folds of the 48 held-out clips (target the label's probability or its rank, neighbours' inputs or not,
ridge 1 or 100, with or without the energy added): 0.688 to 0.792, in-burst 0.479 to 0.651. Side by side on the
same models (articulated bench, seeds 0-2, 192 training clips, 96 bench clips, one thread, one process a seed,
both selectors read on each seed's model): SMART 0.764 +- 0.016 -> 0.788 +- 0.006 (per seed 0.781 / 0.760 /
0.750 -> 0.792 / 0.781 / 0.792, larger on every seed), margins over uniform +0.295 -> +0.320, over dense +0.240 ->
+0.264 (uniform 0.469, dense 0.524, the same models), in-burst 0.537 -> 0.575, in a burst or the two candidates
after it 0.786 -> 0.850. The default from then on; the in-burst target (0.85) stays far, and the dense margin
short of +0.30. `bench selection --recipe motion-energy --family articulated --frames 4 --seeds N` (one process a
seed, OMP_NUM_THREADS=1) reproduces them: SMART 0.792 / 0.781 / 0.792, in-burst 0.586 / 0.578 / 0.560, and the
cascade (k=8) 0.781 / 0.729 / 0.792 (0.767 against the confidence selector's recorded 0.740 +- 0.010).

Closing the loop classifier -> selector -> classifier, measured on seed 0's validation split (144 / 48 clips,
masks unread): each training clip's 8 candidates re-picked by the fitted evidence selector instead of by energy +
3 x the label's probability, the CNN trained afresh (40 epochs), the selector fitted again: SMART 0.771 -> 0.792
(one clip) but dense 0.417 -> 0.542 (margin +0.354 -> +0.250); a second round 0.688. Not taken. The last fine-tune
on the consensus of SMART's picks (`consensus_tuning`, off) is recorded in `training.consensus_tuning`.

A stronger classifier at test time, measured on seed 0's validation split (144 / 48 clips, masks unread, one
thread) and not taken. Mirror averaging (every strategy's features the mean of the CNN's on the stack and on its
horizontal mirror, so the mean logits; the selector fitted on them; twice the CNN's FLOPs), on the recorded
40-epoch model: SMART 0.771 -> 0.750, uniform 0.479 -> 0.438, dense 0.417 -> 0.438, the masks' picks (oracle)
0.792 -> 0.708; the mean of the two softmaxes instead scores the same. On seed 0's bench model (192 / 96 clips)
SMART 0.792 -> 0.781, dense 0.510 -> 0.500, oracle 0.833 either way. Training mirrors, but the family's Wave and
Kick always move the right limb. A snapshot ensemble of the self-training rounds' models (each trained afresh; the
mean of their probabilities), the recipe retrained (its final model as recorded: SMART 0.771, oracle 0.792): the
rounds' models alone 0.667 (oracle 0.688) and 0.688 (0.813); all three together 0.729 with the final model's
selector, 0.708 with the members' mean selector score (dense 0.417, oracle 0.771); the last two 0.729 / 0.771
(dense 0.458, oracle 0.813). The earlier rounds trained on less pure picks, and they pull the final model down.
Capacity and regularisation, the recipe retrained with one setting changed (same split): `weight_decay` 1e-3 ->
5e-2 SMART 0.771 (the same), uniform 0.438, dense 0.583, oracle 0.792, in-burst 0.594 -> 0.667 (the dense margin
+0.354 -> +0.188); `width` 96 -> 128 SMART 0.729, uniform 0.375, dense 0.458, oracle 0.708. Neither taken.

A stack centred on the candidate (`past_differences` 2, `following_differences` 2: its own newest two differences
and the next two candidates') and the selector's both-sides energy (`selector_energy`: the lesser of the
candidate's own newest difference's energy and the next candidate's). With the backward stack of 3 a burst's first
candidate holds one difference of the action and the candidate just after the burst holds three, so picks spill
past the burst. Seed 0's validation split (144 / 48 clips, 40 epochs, masks unread): 2 + 2 SMART 0.729 (today
0.771), dense 0.438 (0.417), oracle 0.771 (0.792), in-burst 0.703 (0.594); on that model the both-sides energy
0.729 and in-burst 0.776, the mean of the two sides 0.708 / 0.724; 1 + 1 0.708, in-burst 0.745 (both sides:
0.688 / 0.766). The articulated bench, seeds 0-2, one process a seed (`bench selection --recipe motion-energy
--family articulated --frames 4 --seeds N --past-differences 2 --following-differences 2 --selector-energy
both_sides`), against today's recorded figures of the same bench: SMART 0.781 / 0.781 / 0.802 = 0.788 +- 0.012
(today 0.792 / 0.781 / 0.792 = 0.788 +- 0.006), uniform 0.451 (0.469), dense 0.469 / 0.479 / 0.479 = 0.476
(0.524), in-burst 0.714 / 0.698 / 0.685 = 0.699 +- 0.015 (0.575 +- 0.017), cascade 0.760 (0.767), energy alone
0.684; margins over dense +0.312 +- 0.010 (each seed above +0.30; today +0.264), over uniform +0.337; the CNN 2.4 %
more FLOPs a frame (one more input channel). SMART itself is unchanged: the dense margin grows because dense falls,
while the picks move into the bursts. The first family with the same options (`--family shapes --data
var/data/synthetic-bench-shapes5`, 120 training clips, 60 bench clips, seeds 0-2): SMART 1.000 on each seed,
in-burst 0.958 / 0.975 / 0.992, uniform 0.494, dense 0.211. The default since the stacks carry their channel layout
(`MotionData.layout`: `recipe_input` gives loaded stacks the settings' context and refuses stacks of another);
the bench on the default reproduces the option's figures on every seed (SMART 0.781 / 0.781 / 0.802, in-burst
0.714 / 0.698 / 0.685) and, with `--int8`, int8 SMART 0.771 / 0.771 / 0.813 (a drop of +0.010 / +0.010 / -0.010,
one clip of 96 either way, mean +0.003 +- 0.012), per-frame top-1 agreement 0.968 / 0.975 / 0.972, CPU speed-up
1.70x / 1.63x / 1.58x. What misses the bursts, on seed 0's validation model (48 clips): 0.776 of SMART's picks in a
burst, 0.052 on the candidate just before one, 0.083 just after, 0.010 two after, 0.078 elsewhere; bursts there
average 3.3 candidates and 12 of the 48 clips have none of 4 or more. Tried on that model and not taken (no rule
above 0.78 in-burst; fold 1 of the split disagrees on each by one or two clips): the score smoothed over
neighbours ([1,2,1] / 4: SMART 0.729, in-burst 0.760), the best run of n consecutive candidates (0.688 / 0.677),
the least score of t-1, t, t+1 (0.750 / 0.766), the energy's weight 0.5 or 1.5 (0.750 / 0.750, 0.750 / 0.771); and
the both-sides energy in the training picks too (retrained: 0.750 / 0.734; fold 1 0.646 / 0.630 against 0.667 /
0.698). A second, narrower CNN picking for the centred one (masks unread, same split): its own newest difference
alone (1 + 0, newest energy) picks the candidate just after a burst more (0.188 of its picks): in-burst 0.635,
SMART 0.583, 0.688 with the centred CNN classifying its picks; 1 + 1 with the both-sides energy: in-burst 0.766,
SMART 0.688, 0.792 with the centred CNN on its picks (3 clips of 48; fold 1: 0.688 against 0.667, in-burst 0.677
against 0.698). Not taken,
and no lighter: the CNN's cost barely depends on its input's depth (35.2 / 36.1 / 37.9 MFLOPs a frame at 1 / 2 / 4
channels), so the pair costs 1.54-1.57 GFLOPs a window against the centred CNN's 1.47.

    python -m training.motion_energy var/data/articulated [--seeds 0 1 2] [--epochs 40]
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, Field, model_validator
from torch import nn

from models.motion import MotionEncoder, MotionSettings, window_motion_energy
from training.consensus_tuning import ConsensusTuning, consensus_fine_tune
from training.evidence_selector import (
    EvidenceSelector,
    evidence_scores,
    features_and_probabilities,
    fit_evidence_selector,
    selector_inputs,
)
from training.motion_mil import ClipScores, strategy_scores
from training.motion_probe import MotionData, StackLayout, load_motion_data
from training.temporal_context import both_sides_energy, with_temporal_context
from training.ucf101 import Ucf101Index

logger = logging.getLogger(__name__)


class MotionEnergySettings(BaseModel):
    """The recipe: which candidates train the CNN, how it trains, how SMART scores the candidates."""

    num_candidates: int = Field(32, ge=2, description="T: candidates per clip, in time order.")
    budget: int = Field(4, ge=1, description="n: candidates SMART keeps per clip.")
    picks_per_clip: int = Field(8, ge=1, description="Most energetic candidates of a training clip it trains on.")
    width: int = Field(96, ge=8, description="Channels of the CNN's last block (features: twice this).")
    epochs: int = Field(40, ge=1, description="Passes over the picked frames.")
    batch_size: int = Field(32, ge=1, description="Frames per step.")
    learning_rate: float = Field(2e-3, gt=0, description="AdamW learning rate (cosine-annealed to 0).")
    weight_decay: float = Field(1e-3, ge=0, description="AdamW weight decay.")
    dropout: float = Field(0.3, ge=0, lt=1, description="Dropout before the linear head.")
    label_smoothing: float = Field(0.1, ge=0, lt=1, description="Cross-entropy label smoothing.")
    max_roll_px: int = Field(8, ge=0, description="Random translation of each batch (the actor stands anywhere).")
    confidence_weight: float = Field(3.0, ge=0, description="Weight of the head's confidence beside the energy.")
    consensus_power: float = Field(0.0, ge=0, description="Each chosen frame's vote in the clip's consensus weighs "
                                   "its top probability to this power (0: the plain mean).")
    energy_threshold: float = Field(0.0, ge=0, description="Per-pixel threshold of the motion energy, a multiple of "
                                    "the window's median |difference| (0: every pixel counts in full).")
    following_differences: int = Field(2, ge=0, description="Newest differences of the next candidates appended "
                                       "to each candidate's own, the classifier's input in every strategy "
                                       "(`training.temporal_context`; 0: the candidate's own differences only).")
    past_differences: int = Field(2, ge=1, description="The candidate's own newest differences the classifier "
                                  "reads (at most `MotionSettings.stack_depth`; 3: its whole stack); with "
                                  "`following_differences` the input can be centred on the candidate.")
    selector_energy: Literal["newest", "both_sides"] = Field(
        "both_sides", description="The energy SMART's selector adds and reads: of the candidate's newest difference, "
        "smoothed over its neighbours (`models.motion.window_motion_energy`), or the lesser of its own and the next "
        "candidate's (`training.temporal_context.both_sides_energy`; needs following_differences >= 1).")
    self_training_rounds: int = Field(2, ge=0, description="Rounds of re-picking each training clip's candidates "
                                      "by energy + the head's probability of the clip's label, then training afresh.")
    cross_fit_folds: int = Field(1, ge=1, description="Self-training re-picks each fold's clips with a model trained "
                                 "on the other folds (1: with the model trained on every clip, which saw them).")
    cross_fit_epochs: int = Field(20, ge=1, description="Epochs of each fold's model (the final model: `epochs`).")
    selector: Literal["confidence", "evidence"] = Field(
        "evidence", description="SMART's score at test time: the energy + confidence_weight x the head's top "
        "probability, or + the label evidence that `training.evidence_selector` learns on the training clips.")
    evidence_ridge: float = Field(1.0, gt=0, description="Ridge penalty of the evidence selector's regression.")
    consensus_tuning: ConsensusTuning = Field(
        default_factory=ConsensusTuning, description="A last fine-tune of the trained CNN on each training clip's "
        "consensus of the `budget` candidates SMART's selector ranks first (`training.consensus_tuning`; "
        "epochs 0: none).")
    seed: int = 0

    @model_validator(mode="after")
    def _both_sides_needs_the_next_difference(self) -> MotionEnergySettings:
        if self.selector_energy == "both_sides" and self.following_differences < 1:
            raise ValueError("selector_energy both_sides reads the next candidate's difference: set "
                             "following_differences to 1 or more")
        return self


def recipe_input(data: MotionData, settings: MotionEnergySettings) -> MotionData:
    """`data` as the recipe's classifier reads it: stacks as loaded get the settings' temporal context
    (`with_temporal_context`); stacks that carry it already must carry the settings' own, which every entry point
    checks, since a CNN trained on one layout reads another's channels without an error."""
    expected = StackLayout(past=settings.past_differences, following=settings.following_differences)
    if data.context is None:
        return with_temporal_context(data, expected.following, expected.past)
    if data.layout != expected:
        raise ValueError(f"the stacks hold {data.layout.past} own and {data.layout.following} following differences; "
                         f"the settings read {expected.past} and {expected.following}")
    return data


def energy_picks(stacks: np.ndarray, count: int, threshold: float = 0.0) -> np.ndarray:
    """[N,T,depth,S,S] -> [N,count] candidate positions, the most energetic of each clip first."""
    return np.argsort(-window_motion_energy(stacks, threshold=threshold), axis=1, kind="stable")[:, :count]


def train_on_energy_picks(train: MotionData, num_classes: int, settings: MotionEnergySettings,
                          picks: np.ndarray | None = None) -> nn.Sequential:
    """The motion CNN + dropout + linear head, trained on each clip's energy picks with the clip's label (or on
    the given [N,k] candidate positions)."""
    train = recipe_input(train, settings)
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    if picks is None:
        picks = energy_picks(train.stacks, settings.picks_per_clip, settings.energy_threshold)
    clips = np.repeat(np.arange(len(train.labels)), picks.shape[1])
    inputs = torch.from_numpy(train.stacks[clips, picks.ravel()])
    targets = torch.from_numpy(train.labels[clips])
    encoder = MotionEncoder(inputs.shape[1], settings.width)
    model = nn.Sequential(encoder, nn.Dropout(settings.dropout), nn.Linear(encoder.output_dim, num_classes))
    optimiser = torch.optim.AdamW(model.parameters(), settings.learning_rate, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, settings.epochs)
    for epoch in range(settings.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(targets)))
        for start in range(0, len(order), settings.batch_size):
            batch = order[start:start + settings.batch_size]
            shift = tuple(int(value) for value in rng.integers(-settings.max_roll_px, settings.max_roll_px + 1, 2))
            stacks = torch.roll(inputs[batch].float(), shift, dims=(2, 3))
            if rng.random() < 0.5:  # a mirrored actor does the same action
                stacks = stacks.flip(3)
            loss = nn.functional.cross_entropy(model(stacks), targets[batch],
                                               label_smoothing=settings.label_smoothing)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        schedule.step()
        logger.debug("epoch %d: last batch loss %.3f", epoch, loss.item())
    return model


def label_picks(model: nn.Sequential, train: MotionData, settings: MotionEnergySettings) -> np.ndarray:
    """[N, picks_per_clip] training-clip candidates by energy + confidence_weight x the head's probability of the
    clip's own label: training knows the label, and idle candidates, which look alike in every class, get a low
    one however much the distractors move in them."""
    train = recipe_input(train, settings)
    probabilities = frame_probabilities(model, train.stacks)
    label_probability = probabilities[np.arange(len(train.labels)), :, train.labels].numpy()
    energy = window_motion_energy(train.stacks, threshold=settings.energy_threshold)
    score = energy + settings.confidence_weight * label_probability
    return np.argsort(-score, axis=1, kind="stable")[:, :settings.picks_per_clip]


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """[N] fold of each clip: every class's clips dealt round the folds in a random order."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        clips = rng.permutation(np.flatnonzero(labels == label))
        assignment[clips] = np.arange(len(clips)) % folds
    return assignment


def clip_subset(data: MotionData, clips: np.ndarray) -> MotionData:
    return MotionData(data.stacks[clips], data.in_burst[clips], data.labels[clips], data.context)


def cross_fitted_label_picks(train: MotionData, num_classes: int, settings: MotionEnergySettings,
                             picks: np.ndarray) -> np.ndarray:
    """`label_picks` of each fold's clips by a model trained (`cross_fit_epochs`) on the other folds' `picks`: a
    model trained on a clip's own picks has learnt their label, idle ones too, and re-picks them."""
    folds = stratified_folds(train.labels, settings.cross_fit_folds, settings.seed)
    fold_settings = settings.model_copy(update={"epochs": settings.cross_fit_epochs})
    repicked = np.empty_like(picks)
    for fold in range(settings.cross_fit_folds):
        held_out = folds == fold
        if not held_out.any():  # fewer clips of each class than folds
            continue
        model = train_on_energy_picks(clip_subset(train, ~held_out), num_classes, fold_settings, picks[~held_out])
        repicked[held_out] = label_picks(model, clip_subset(train, held_out), settings)
    return repicked


def train_motion_energy(train: MotionData, num_classes: int, settings: MotionEnergySettings) -> nn.Sequential:
    """The recipe: the energy picks re-picked `self_training_rounds` times (cross-fitted over `cross_fit_folds`,
    or by the model trained on every clip's picks with one fold), then the model trained on the last picks, and
    with `consensus_tuning`, fine-tuned on the consensus of the picks SMART's selector makes on the training clips
    (the selector is then fitted again, on the fine-tuned model, by whoever scores it)."""
    train = recipe_input(train, settings)
    picks = energy_picks(train.stacks, settings.picks_per_clip, settings.energy_threshold)
    for _ in range(settings.self_training_rounds):
        if settings.cross_fit_folds > 1:
            picks = cross_fitted_label_picks(train, num_classes, settings, picks)
        else:
            picks = label_picks(train_on_energy_picks(train, num_classes, settings, picks), train, settings)
    model = train_on_energy_picks(train, num_classes, settings, picks)
    if settings.consensus_tuning.epochs:
        selected = smart_scores(model, fit_selector(model, train, settings), train, settings)
        consensus_fine_tune(model, train.stacks, train.labels, selected.topk(settings.budget, dim=1).indices.numpy(),
                            settings.consensus_tuning, settings.weight_decay, settings.label_smoothing,
                            settings.max_roll_px, settings.seed)
    return model


@torch.no_grad()
def frame_probabilities(model: nn.Sequential, stacks: np.ndarray) -> torch.Tensor:
    """[N,T,depth,S,S] -> [N,T,C]: the head's class probabilities for every candidate."""
    model.eval()
    return torch.stack([torch.softmax(model(torch.from_numpy(clip).float()), dim=-1) for clip in stacks])


def selector_energy(data: MotionData, settings: MotionEnergySettings) -> np.ndarray:
    """[N,T] the energy SMART's selector adds and reads (`settings.selector_energy`)."""
    data = recipe_input(data, settings)
    if settings.selector_energy == "both_sides":
        return both_sides_energy(data.stacks, data.layout.past, settings.energy_threshold)
    return window_motion_energy(data.stacks, threshold=settings.energy_threshold)


def fit_selector(model: nn.Sequential, train: MotionData, settings: MotionEnergySettings) -> EvidenceSelector | None:
    """The learned selector fitted on the training clips with `settings.selector` "evidence"; None for the
    energy + confidence score, which learns nothing."""
    if settings.selector == "confidence":
        return None
    train = recipe_input(train, settings)
    features, probabilities = features_and_probabilities(model, train.stacks)
    energy = selector_energy(train, settings)
    return fit_evidence_selector(selector_inputs(features, probabilities, energy), probabilities, train.labels,
                                 settings.evidence_ridge)


def smart_scores(model: nn.Sequential, selector: EvidenceSelector | None, data: MotionData,
                 settings: MotionEnergySettings) -> torch.Tensor:
    """[N,T] SMART's score of every candidate of `data`: the energy + confidence_weight x the head's top
    probability, or with a fitted `selector`, the energy + its predicted label evidence (energy: `selector_energy`)."""
    data = recipe_input(data, settings)
    energy = selector_energy(data, settings)
    if selector is None:
        confidence = frame_probabilities(model, data.stacks).amax(dim=-1)
        return torch.from_numpy(energy) + settings.confidence_weight * confidence
    features, probabilities = features_and_probabilities(model, data.stacks)
    return torch.from_numpy(evidence_scores(selector, selector_inputs(features, probabilities, energy), energy))


def score_clips(model: nn.Module, test: MotionData, settings: MotionEnergySettings,
                selector_scores: torch.Tensor | None = None) -> ClipScores:
    """Every strategy on `model`'s probabilities; SMART picks by `selector_scores` [N,T] when given (another
    model's, or a learned selector's), else by the energy + confidence_weight x `model`'s top probability."""
    test = recipe_input(test, settings)
    probabilities = frame_probabilities(model, test.stacks)
    if selector_scores is None:
        energy = torch.from_numpy(window_motion_energy(test.stacks, threshold=settings.energy_threshold))
        selector_scores = energy + settings.confidence_weight * probabilities.amax(dim=-1)
    return strategy_scores(probabilities, selector_scores, test.labels, test.in_burst, settings.budget,
                           settings.consensus_power)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="A synthetic data set with truth masks (actionstream synth).")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="Seeds of the initialisation and batches.")
    parser.add_argument("--epochs", type=int, default=MotionEnergySettings().epochs, help="Training epochs.")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(2)
    base = MotionEnergySettings(epochs=arguments.epochs)
    index = Ucf101Index.from_folder(arguments.root)
    train, test = (recipe_input(load_motion_data(arguments.root, items, MotionSettings(), base.num_candidates), base)
                   for items in (index.train, index.test))
    for seed in arguments.seeds:
        settings = base.model_copy(update={"seed": seed})
        model = train_motion_energy(train, len(index.classes), settings)
        selector = fit_selector(model, train, settings)
        scores = score_clips(model, test, settings, smart_scores(model, selector, test, settings))
        print(json.dumps({"experiment": "motion_energy", "seed": seed, "epochs": settings.epochs,
                          "n": settings.budget, "T": settings.num_candidates,
                          "acc": {name: round(value, 4) for name, value in scores.accuracy.items()},
                          "in_burst": {name: round(value, 4) for name, value in scores.in_burst.items()}}),
              flush=True)


if __name__ == "__main__":
    main()
