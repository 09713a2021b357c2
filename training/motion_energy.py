"""Mask-free training of the motion CNN on each clip's high-energy candidates (issue 11).

Training never reads the burst masks, so it needs its own guess of which candidates show the action:
`models.motion.window_motion_energy` (shake-aligned motion energy, standardised within the clip and smoothed
over neighbouring candidates) puts about half of a clip's top candidates in the burst, against a fifth at random.
The motion CNN and a linear head are trained on each training clip's `picks_per_clip` most energetic candidates
with the clip's label (label noise on the idle picks, but idle frames look alike in every class, so they teach
little that is wrong). Then self-training: each training clip's candidates are re-picked by energy plus the
trained head's probability of the clip's own label (the label is known in training; the distractors' motion
belongs to no class), and the CNN is trained afresh on those picks, `self_training_rounds` times. Each candidate's
input is centred on it: its own newest differences and the next candidates' (`past_differences`,
`following_differences`, `training.temporal_context`). SMART's n candidates are the top-n by the energy of the
motion into and out of the candidate (`selector_energy`; the number of pixels whose |difference| stands out from
their own median over the window and from the window's noise floor, so what moves at one place all window long
drops out and a faint limb counts by its size, not its contrast) plus a second CNN's evidence of an action, averaged
with the neighbouring candidates' and trained on idle and action candidates mined from the training clips, in two
rounds (`selector` "idle", `training.idle_selector`), classified by TSN
consensus of the recipe's CNN on those n; or plus the label evidence that a selector fitted on the training clips
predicts from the recipe's CNN on every candidate (`selector` "evidence", `training.evidence_selector`, the default
until the idle selector). The masks only score the picks (in-burst share) on the test clips; training never reads
them.

Every setting was chosen by accuracy on a validation split of the training clips, then checked on the bench,
except the selector energy's pixel counting (`selector_energy_counting`): it was chosen by where the energy alone
puts its top candidates on the training clips (the masks scoring), then checked on the validation split's
accuracy and on the bench.
`training/motion_energy_experiments.md` records every alternative measured, kept or not, with its figures.

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

from models.motion import MotionEncoder, MotionSettings, PixelCounting, window_motion_energy
from training.consensus_tuning import ConsensusTuning, consensus_fine_tune
from training.evidence_selector import (
    EvidenceSelector,
    evidence_scores,
    features_and_probabilities,
    fit_evidence_selector,
    selector_inputs,
)
from training.idle_selector import (
    IdleSelector,
    IdleSelectorSettings,
    idle_scores,
    idle_training_frames,
    mine_idle_candidates,
    second_round_frames,
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
    pick_energy_counting: PixelCounting = Field(
        default_factory=PixelCounting, description="How the energy that picks the training candidates counts each "
        "pixel (`models.motion.window_motion_energy`; the default: every pixel in full).")
    selector_energy_counting: PixelCounting = Field(
        PixelCounting(threshold=1.5, baseline="pixel", pooling=4, measure="area", noise_floor=4.0),
        description="How the energy SMART's selector adds and reads counts each pixel: on maps pooled 4x4, the number "
        "of pixels whose |difference| exceeds 1.5x its own median over the window by more than 4x the window's "
        "median. What moves at a place all window long drops out, and a faint limb counts by its size, not its "
        "contrast, so a high-contrast ball does not outshine it.")
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
    selector: Literal["confidence", "evidence", "idle"] = Field(
        "idle", description="SMART's score at test time: the energy + confidence_weight x the head's top "
        "probability, + the label evidence that `training.evidence_selector` learns on the training clips, or + "
        "the idle selector's evidence of an action (a second CNN trained on idle candidates mined from the "
        "training clips, `training.idle_selector`; the classifier then reads only SMART's picks). Idle: the best "
        "in-burst share of the three on the articulated bench, seeds 0-2 (`training/motion_energy_experiments.md`).")
    idle_selector: IdleSelectorSettings = Field(
        default_factory=IdleSelectorSettings, description="selector idle: which training candidates are mined as "
        "idle and which as the action, and how SMART's score weighs and averages the selector's evidence.")
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


def motion_energy(stacks: np.ndarray, settings: MotionEnergySettings) -> np.ndarray:
    """[N,T,depth,S,S] -> [N,T]: `window_motion_energy` counting pixels as the training picks do."""
    return window_motion_energy(stacks, counting=settings.pick_energy_counting)


def energy_picks(stacks: np.ndarray, count: int, settings: MotionEnergySettings) -> np.ndarray:
    """[N,T,depth,S,S] -> [N,count] candidate positions, the most energetic of each clip first."""
    return np.argsort(-motion_energy(stacks, settings), axis=1, kind="stable")[:, :count]


def train_on_energy_picks(train: MotionData, num_classes: int, settings: MotionEnergySettings,
                          picks: np.ndarray | None = None) -> nn.Sequential:
    """The motion CNN + dropout + linear head, trained on each clip's energy picks with the clip's label (or on
    the given [N,k] candidate positions)."""
    train = recipe_input(train, settings)
    if picks is None:
        picks = energy_picks(train.stacks, settings.picks_per_clip, settings)
    clips = np.repeat(np.arange(len(train.labels)), picks.shape[1])
    return train_on_frames(train, clips, picks.ravel(), train.labels[clips], num_classes, settings)


def train_on_frames(train: MotionData, clips: np.ndarray, positions: np.ndarray, targets: np.ndarray,
                    num_classes: int, settings: MotionEnergySettings) -> nn.Sequential:
    """The motion CNN + dropout + linear head, trained on the candidates at [M] (clip, position) with [M] targets
    (random translations and mirrors, AdamW, cosine-annealed learning rate)."""
    train = recipe_input(train, settings)
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    inputs = torch.from_numpy(train.stacks[clips, positions])
    target = torch.from_numpy(np.asarray(targets, dtype=np.int64))
    encoder = MotionEncoder(inputs.shape[1], settings.width)
    model = nn.Sequential(encoder, nn.Dropout(settings.dropout), nn.Linear(encoder.output_dim, num_classes))
    optimiser = torch.optim.AdamW(model.parameters(), settings.learning_rate, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, settings.epochs)
    for epoch in range(settings.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(target)))
        for start in range(0, len(order), settings.batch_size):
            batch = order[start:start + settings.batch_size]
            if len(batch) < 2:  # batch normalisation cannot train on one frame: a lone last frame waits an epoch
                continue
            shift = tuple(int(value) for value in rng.integers(-settings.max_roll_px, settings.max_roll_px + 1, 2))
            stacks = torch.roll(inputs[batch].float(), shift, dims=(2, 3))
            if rng.random() < 0.5:  # a mirrored actor does the same action
                stacks = stacks.flip(3)
            loss = nn.functional.cross_entropy(model(stacks), target[batch],
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
    energy = motion_energy(train.stacks, settings)
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
    picks = energy_picks(train.stacks, settings.picks_per_clip, settings)
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
    """[N,T] the energy SMART's selector adds and reads (`settings.selector_energy`, each pixel counted as
    `settings.selector_energy_counting` says)."""
    data = recipe_input(data, settings)
    if settings.selector_energy == "both_sides":
        return both_sides_energy(data.stacks, data.layout.past, settings.selector_energy_counting)
    return window_motion_energy(data.stacks, counting=settings.selector_energy_counting)


Selector = EvidenceSelector | IdleSelector | None


def fit_selector(model: nn.Sequential, train: MotionData, settings: MotionEnergySettings) -> Selector:
    """SMART's selector, fitted on the training clips with `model` (the trained classifier): the learned evidence
    selector, the idle selector (`fit_idle_selector`), or None for the energy + confidence score, which learns
    nothing."""
    if settings.selector == "confidence":
        return None
    if settings.selector == "idle":
        return fit_idle_selector(model, train, settings)
    train = recipe_input(train, settings)
    features, probabilities = features_and_probabilities(model, train.stacks)
    energy = selector_energy(train, settings)
    return fit_evidence_selector(selector_inputs(features, probabilities, energy), probabilities, train.labels,
                                 settings.evidence_ridge)


def fit_idle_selector(model: nn.Sequential, train: MotionData, settings: MotionEnergySettings) -> IdleSelector:
    """The idle selector (`training.idle_selector`): idle candidates mined with the classifier's features, trained
    as one class more beside the pooled candidates whose neighbours carry their label, with the recipe's training
    settings; then, unless `second_round_picks` is 0, trained again on each training clip's candidates that SMART
    ranks first with it."""
    train = recipe_input(train, settings)
    features, _ = features_and_probabilities(model, train.stacks)
    energy = selector_energy(train, settings)
    mined = mine_idle_candidates(features, energy, train.labels, settings.idle_selector)
    num_classes = int(model[-1].out_features)
    clips, positions, targets = idle_training_frames(train.labels, mined, settings.idle_selector,
                                                     idle_class=num_classes)
    logger.info("idle selector: of %d pooled training candidates, %d mined as idle and %d train as their clip's "
                "action", mined.pool_purity.size, len(mined.clips), int((targets < num_classes).sum()))
    selector = train_on_frames(train, clips, positions, targets, num_classes + 1, settings)
    picks = settings.idle_selector.second_round_picks
    if picks == 0:
        return IdleSelector(selector, settings.idle_selector)
    idle_probability = frame_probabilities(selector, train.stacks)[..., -1].numpy()
    scores = idle_scores(idle_probability, energy, settings.idle_selector)
    clips, positions, targets = second_round_frames(train.labels, mined, scores, picks, idle_class=num_classes)
    logger.info("idle selector, second round: each training clip's %d candidates ranked first train as its action, "
                "%d mined candidates as idle", picks, int((targets == num_classes).sum()))
    return IdleSelector(train_on_frames(train, clips, positions, targets, num_classes + 1, settings),
                        settings.idle_selector)


def smart_scores(model: nn.Sequential, selector: Selector, data: MotionData,
                 settings: MotionEnergySettings) -> torch.Tensor:
    """[N,T] SMART's score of every candidate of `data`: the energy + confidence_weight x the head's top
    probability, or with a fitted `selector`, the energy + its predicted label evidence, or + its weight x the idle
    selector's probability of an action (energy: `selector_energy`)."""
    data = recipe_input(data, settings)
    energy = selector_energy(data, settings)
    if selector is None:
        confidence = frame_probabilities(model, data.stacks).amax(dim=-1)
        return torch.from_numpy(energy) + settings.confidence_weight * confidence
    if isinstance(selector, IdleSelector):
        idle_probability = frame_probabilities(selector.model, data.stacks)[..., -1].numpy()
        return torch.from_numpy(idle_scores(idle_probability, energy, selector.settings).astype(np.float32))
    features, probabilities = features_and_probabilities(model, data.stacks)
    return torch.from_numpy(evidence_scores(selector, selector_inputs(features, probabilities, energy), energy))


def score_clips(model: nn.Module, test: MotionData, settings: MotionEnergySettings,
                selector_scores: torch.Tensor | None = None) -> ClipScores:
    """Every strategy on `model`'s probabilities; SMART picks by `selector_scores` [N,T] when given (another
    model's, or a learned selector's), else by the selector's energy (`selector_energy`) + confidence_weight x
    `model`'s top probability."""
    test = recipe_input(test, settings)
    probabilities = frame_probabilities(model, test.stacks)
    if selector_scores is None:
        energy = torch.from_numpy(selector_energy(test, settings))
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
