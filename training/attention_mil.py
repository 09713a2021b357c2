"""Attention-weighted (multiple-instance) training of the `shared` head.

A clip is a bag of T candidate frames with one label, but only the frames of its action burst show the class.
Training every frame on the clip label teaches the head the idle frames' noise, and the oracle and selectors
inherit it. Here a small attention network weighs the frames of each clip (Ilse et al. 2018):
- the clip loss is on the attention-pooled frame probabilities, so the attention learns which frames carry the
  class;
- the frame loss is each frame's cross-entropy weighted by its detached attention, so the per-frame head (the
  one that serves, with TSN consensus over the selected frames) learns from the frames the attention found.
The attention network exists only during training: the bundle keeps the plain per-frame head. Training never
reads the burst masks.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from models.classifiers import SharedHead
from training.features import FeatureSet
from training.loop import EpochCallback, FitResult, fit, run_epoch
from training.optim import OptimizerSettings, SchedulerSettings, build_optimizer, build_scheduler
from training.shared import SharedScorer
from training.smart_settings import ClassifierSettings


class FrameAttention(nn.Module):
    """X [B,T,D], mask [B,T] -> attention [B,T], a softmax over each clip's valid frames."""

    def __init__(self, input_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, 1))

    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        energy = self.score(frames).squeeze(-1).masked_fill(~mask, float("-inf"))
        return torch.softmax(energy, dim=1)


class AttentionMil(nn.Module):
    """The per-frame head and the training-only attention, in one module so early stopping keeps both."""

    def __init__(self, head: SharedHead, attention: FrameAttention) -> None:
        super().__init__()
        self.head = head
        self.attention = attention


def attention_mil_loss(
    frame_logits: torch.Tensor, attention: torch.Tensor, labels: torch.Tensor, clip_loss: nn.Module,
    frame_loss_weight: float,
) -> torch.Tensor:
    """clip_loss(log of the attention-pooled frame probabilities) + weight * attention-weighted mean of the
    per-frame cross-entropy. frame_logits [B,T,C], attention [B,T] (0 on invalid frames), labels [B].

    Probabilities, not logits, are pooled (as TSN consensus does at inference): a pooled logit can be made
    large by a few confident frames whatever the weights, while a pooled probability reaches 1 only when the
    attention leaves the idle frames, which look alike in every class.
    """
    # log of a distribution: clip_loss's log-softmax leaves it unchanged.
    pooled = (attention.unsqueeze(-1) * torch.softmax(frame_logits, dim=-1)).sum(dim=1).clamp(min=1e-8).log()
    per_frame = F.cross_entropy(
        frame_logits.flatten(0, 1), labels.repeat_interleave(frame_logits.shape[1]), reduction="none"
    ).view_as(attention)
    # Detached: the frame term trains the head on the attended frames; only the clip term moves the attention.
    frame_term = (attention.detach() * per_frame).sum(dim=1).mean()
    return clip_loss(pooled, labels) + frame_loss_weight * frame_term


def train_attention_head(
    data: FeatureSet,
    num_classes: int,
    settings: ClassifierSettings,
    optimizer: OptimizerSettings,
    scheduler: SchedulerSettings,
    loss: nn.Module,
    validate: Callable[[SharedScorer], float] | None,
    epochs: int | None = None,
    on_epoch: EpochCallback | None = None,
    seed: int = 0,
    progress: bool = True,
    initial: SharedHead | None = None,
) -> tuple[SharedHead, FitResult]:
    """The per-frame head of `train_attention_mil`, with the signature of `train_shared_head`."""
    model, result = train_attention_mil(data, num_classes, settings, optimizer, scheduler, loss, validate, epochs,
                                        on_epoch, seed, progress, initial)
    return model.head, result


def train_attention_mil(
    data: FeatureSet,
    num_classes: int,
    settings: ClassifierSettings,
    optimizer: OptimizerSettings,
    scheduler: SchedulerSettings,
    loss: nn.Module,
    validate: Callable[[SharedScorer], float] | None,
    epochs: int | None = None,
    on_epoch: EpochCallback | None = None,
    seed: int = 0,
    progress: bool = True,
    initial: SharedHead | None = None,
) -> tuple[AttentionMil, FitResult]:
    """Clips (not frames) are the samples: batches of `clip_batch_size` bags of T frames. The head starts as a
    copy of `initial` when given (a warm start), the attention always fresh (bundles do not keep it)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    frames = torch.from_numpy(data.representation)
    mask = torch.from_numpy(data.mask)
    labels = torch.from_numpy(data.labels)
    head = (copy.deepcopy(initial) if initial is not None
            else SharedHead(frames.shape[-1], num_classes, settings.hidden_dim, settings.dropout))
    model = AttentionMil(head, FrameAttention(frames.shape[-1], settings.attention_hidden_dim))
    total_epochs = epochs or settings.epochs
    steps_per_epoch = max(1, -(-len(labels) // settings.clip_batch_size))
    opt = build_optimizer(model.parameters(), optimizer.model_copy(update={"lr": settings.learning_rate}))
    sched = build_scheduler(opt, scheduler, steps_per_epoch, total_epochs)

    def batch_loss(batch: torch.Tensor) -> torch.Tensor:
        attention = model.attention(frames[batch], mask[batch])
        return attention_mil_loss(head(frames[batch]), attention, labels[batch], loss,
                                  settings.attention_frame_loss_weight)

    def train_one_epoch(epoch: int) -> float:
        return run_epoch(torch.randperm(len(labels), generator=generator), settings.clip_batch_size, batch_loss,
                         opt, sched)

    scorer = SharedScorer(head)
    result = fit(
        model, train_one_epoch, (lambda: validate(scorer)) if validate is not None else None,
        total_epochs, settings.patience, "classifier", on_epoch, progress,
    )
    return model, result

