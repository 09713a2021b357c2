"""Mask-free training of the motion CNN: attention-MIL over all T candidates of a clip (issue 11, step 1).

Every training clip is a bag of T difference stacks (`models.motion.clip_motion_stacks`) with one label. The
motion CNN embeds each stack; an attention network scores each candidate, and the clip loss is on the
attention-pooled frame probabilities (`training.attention_mil.attention_mil_loss`), so the attention learns
which candidates carry the class, and is then the selector: SMART's n frames are the top-n by attention, and the
clip is classified by TSN consensus of the per-frame head over them. The attention logit starts from the
candidate's motion energy standardised within its clip (the burst moves more than idle sway): a mask-free prior
that the learned part refines. Early stopping reads a validation split of the training clips, never the masks;
the masks only score the picks (in-burst share) on the test clips.

    python -m training.motion_mil var/data/articulated [--seeds 0 1 2] [--epochs 30]
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, Field
from torch import nn

from models.motion import MotionEncoder, MotionSettings
from training.attention_mil import attention_mil_loss
from training.consensus import clip_consensus
from training.motion_probe import MotionData, load_motion_data, within_clip_energy
from training.ucf101 import Ucf101Index

logger = logging.getLogger(__name__)


class MotionMilSettings(BaseModel):
    """The recipe of the attention-MIL motion model."""

    num_candidates: int = Field(32, ge=2, description="T: candidates per clip, in time order.")
    budget: int = Field(4, ge=1, description="n: candidates the attention selects per clip.")
    pool: int = Field(2, ge=1, description="Average pooling of the difference maps before the CNN (speed).")
    width: int = Field(64, ge=8, description="Channels of the CNN's last block (features: twice this).")
    epochs: int = Field(30, ge=1, description="Passes over the training clips.")
    batch_clips: int = Field(8, ge=1, description="Clips per step.")
    learning_rate: float = Field(2e-3, gt=0, description="AdamW learning rate (cosine-annealed to 0).")
    weight_decay: float = Field(1e-2, ge=0, description="AdamW weight decay.")
    dropout: float = Field(0.3, ge=0, lt=1, description="Dropout on the frame features.")
    frame_loss_weight: float = Field(0.5, ge=0, description="Weight of the attention-weighted frame loss.")
    energy_prior: float = Field(1.0, ge=0, description="Weight of the within-clip motion energy in the attention.")
    max_roll_px: int = Field(4, ge=0, description="Random translation of a clip's stacks (pooled pixels).")
    validation_share: float = Field(0.15, gt=0, lt=1, description="Training clips held out for early stopping.")
    seed: int = 0


class MotionMil(nn.Module):
    """Difference stacks [B,T,depth,S,S] and energy prior [B,T] -> frame logits [B,T,C], attention logits [B,T]."""

    def __init__(self, stack_depth: int, num_classes: int, settings: MotionMilSettings) -> None:
        super().__init__()
        self.encoder = MotionEncoder(stack_depth, settings.width)
        features = self.encoder.output_dim
        self.dropout = nn.Dropout(settings.dropout)
        self.head = nn.Linear(features, num_classes)
        self.attention = nn.Sequential(nn.Linear(features, 64), nn.Tanh(), nn.Linear(64, 1))
        self.energy_prior = settings.energy_prior

    def forward(self, stacks: torch.Tensor, energy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps = stacks.shape[:2]
        features = self.dropout(self.encoder(stacks.flatten(0, 1))).view(batch, steps, -1)
        attention = self.attention(features).squeeze(-1) + self.energy_prior * energy
        return self.head(features), attention


@dataclass(frozen=True)
class ClipScores:
    accuracy: dict[str, float]  # per strategy: smart (top-n attention), uniform, dense, oracle (with the masks)
    in_burst: dict[str, float]  # share of the strategy's frames inside the burst (truth masks, scoring only)


def _inputs(data: MotionData, pool: int) -> tuple[torch.Tensor, torch.Tensor]:
    stacks = torch.from_numpy(data.stacks)
    if pool > 1:
        batch, steps, depth, size, _ = stacks.shape
        stacks = nn.functional.avg_pool2d(stacks.float().view(-1, depth, size, size), pool)
        stacks = stacks.view(batch, steps, depth, size // pool, size // pool).half()
    # The first candidate has no predecessor (zero difference): -inf keeps the attention off it; the rest is
    # clipped so that a rare huge step does not fix the softmax alone.
    energy = np.clip(within_clip_energy(data.stacks), -3.0, 3.0)
    energy[:, 0] = -30.0
    return stacks, torch.from_numpy(energy.astype(np.float32))


@torch.no_grad()
def score_clips(model: MotionMil, stacks: torch.Tensor, energy: torch.Tensor, labels: np.ndarray,
                in_burst: np.ndarray | None, budget: int) -> ClipScores:
    model.eval()
    frame_logits, attention = zip(*(model(stacks[start:start + 8].float(), energy[start:start + 8])
                                    for start in range(0, len(stacks), 8)), strict=True)
    return strategy_scores(torch.softmax(torch.cat(frame_logits), dim=-1), torch.cat(attention), labels, in_burst,
                           budget)


def strategy_scores(probabilities: torch.Tensor, selector_scores: torch.Tensor, labels: np.ndarray,
                    in_burst: np.ndarray | None, budget: int, confidence_power: float = 0.0) -> ClipScores:
    """Frame probabilities [N,T,C] and selector scores [N,T] -> clip accuracy (TSN consensus, each frame
    weighted by its confidence to `confidence_power`: `training.consensus.clip_consensus`) of the top-n
    candidates by score (smart), of n evenly spaced ones (uniform) and of all T (dense). Given the truth masks,
    also of a perfect selector (oracle: the burst candidates first, the selector's order within them and after
    them): the accuracy the classifier reaches when the picks are right, so a gap is told apart as the
    selector's or the classifier's. The masks score; nothing trains on them."""
    clips, steps = selector_scores.shape
    picks = {
        "smart": selector_scores.topk(budget, dim=1).indices,
        "uniform": torch.from_numpy(np.floor((np.arange(budget) + 0.5) / budget * steps).astype(np.int64))
        .expand(clips, budget),
        "dense": torch.arange(steps).expand(clips, steps),
    }
    if in_burst is not None:
        by_score = np.argsort(-selector_scores.numpy(), axis=1, kind="stable")
        burst_first = np.argsort(~np.take_along_axis(in_burst, by_score, axis=1), axis=1, kind="stable")
        picks["oracle"] = torch.from_numpy(np.take_along_axis(by_score, burst_first, axis=1)[:, :budget])
    accuracy, share = {}, {}
    for name, positions in picks.items():
        chosen = probabilities.gather(1, positions.unsqueeze(-1).expand(-1, -1, probabilities.shape[-1]))
        accuracy[name] = float((clip_consensus(chosen, confidence_power).argmax(dim=1).numpy() == labels).mean())
        if in_burst is not None:
            share[name] = float(np.take_along_axis(in_burst, positions.numpy(), axis=1).mean())
    return ClipScores(accuracy, share)


def _split(labels: np.ndarray, share: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Stratified: `share` of each class's clips for validation."""
    validation = np.concatenate([
        rng.permutation(np.flatnonzero(labels == label))[:max(1, round(share * np.sum(labels == label)))]
        for label in np.unique(labels)
    ])
    return np.setdiff1d(np.arange(len(labels)), validation), validation


def train_motion_mil(train: MotionData, num_classes: int, settings: MotionMilSettings) -> MotionMil:
    """Attention-MIL on the clip labels; the state with the best validation SMART accuracy is kept."""
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    stacks, energy = _inputs(train, settings.pool)
    labels = torch.from_numpy(train.labels)
    fit_clips, validation_clips = _split(train.labels, settings.validation_share, rng)
    model = MotionMil(stacks.shape[2], num_classes, settings)
    optimiser = torch.optim.AdamW(model.parameters(), settings.learning_rate, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, settings.epochs)
    clip_loss = nn.CrossEntropyLoss()
    best_accuracy, best_state = -1.0, copy.deepcopy(model.state_dict())
    for epoch in range(settings.epochs):
        model.train()
        order = rng.permutation(fit_clips)
        for start in range(0, len(order), settings.batch_clips):
            batch = torch.from_numpy(order[start:start + settings.batch_clips])
            shift = tuple(int(value) for value in rng.integers(-settings.max_roll_px, settings.max_roll_px + 1, 2))
            batch_stacks = torch.roll(stacks[batch].float(), shift, dims=(3, 4))
            if rng.random() < 0.5:  # a mirrored actor does the same action
                batch_stacks = batch_stacks.flip(4)
            frame_logits, attention_logits = model(batch_stacks, energy[batch])
            loss = attention_mil_loss(frame_logits, torch.softmax(attention_logits, dim=1), labels[batch],
                                      clip_loss, settings.frame_loss_weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        schedule.step()
        validation = score_clips(model, stacks[validation_clips], energy[validation_clips],
                                 train.labels[validation_clips], None, settings.budget)
        logger.info("epoch %d: loss %.3f, validation smart %.3f", epoch, loss.item(), validation.accuracy["smart"])
        if validation.accuracy["smart"] > best_accuracy:
            best_accuracy, best_state = validation.accuracy["smart"], copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="A synthetic data set with truth masks (actionstream synth).")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="Seeds of the initialisation and split.")
    parser.add_argument("--epochs", type=int, default=MotionMilSettings().epochs, help="Training epochs.")
    parser.add_argument("--energy-prior", type=float, default=MotionMilSettings().energy_prior,
                        help="Weight of the motion-energy prior in the attention (0: learned attention only).")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(2)
    base = MotionMilSettings(epochs=arguments.epochs, energy_prior=arguments.energy_prior)
    index = Ucf101Index.from_folder(arguments.root)
    train, test = (load_motion_data(arguments.root, items, MotionSettings(), base.num_candidates)
                   for items in (index.train, index.test))
    stacks, energy = _inputs(test, base.pool)
    for seed in arguments.seeds:
        settings = base.model_copy(update={"seed": seed})
        model = train_motion_mil(train, len(index.classes), settings)
        scores = score_clips(model, stacks, energy, test.labels, test.in_burst, settings.budget)
        print(json.dumps({"experiment": "motion_mil", "seed": seed, "epochs": settings.epochs,
                          "energy_prior": settings.energy_prior, "n": settings.budget, "T": settings.num_candidates,
                          "acc": {name: round(value, 4) for name, value in scores.accuracy.items()},
                          "in_burst": {name: round(value, 4) for name, value in scores.in_burst.items()}}), flush=True)


if __name__ == "__main__":
    main()
