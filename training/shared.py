"""Training of the `shared` classifier: a head on the cached frame representations, per-frame targets."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from models.classifiers import SharedHead
from models.flops import count_flops
from training.features import FeatureSet
from training.loop import EpochCallback, FitResult, fit, run_epoch
from training.optim import OptimizerSettings, SchedulerSettings, build_optimizer, build_scheduler
from training.smart_settings import ClassifierSettings


class SharedScorer:
    kind = "shared"

    def __init__(self, head: SharedHead) -> None:
        self.head = head.eval()

    @torch.no_grad()
    def frame_logits(self, data: FeatureSet, rows: np.ndarray, indices: torch.Tensor) -> torch.Tensor:
        frames = torch.from_numpy(data.representation[rows])
        picked = torch.gather(frames, 1, indices.unsqueeze(-1).expand(-1, -1, frames.shape[-1]))
        return self.head(picked)

    @torch.no_grad()
    def frame_probabilities(self, data: FeatureSet) -> np.ndarray:
        """Softmax of every candidate frame on its own: [N,T,C]."""
        return torch.softmax(self.head(torch.from_numpy(data.representation)), dim=-1).numpy()

    def flops_per_frame(self) -> int:
        example = torch.zeros(1, self.head.input_dim)
        return count_flops(lambda: self.head(example))


def train_shared_head(
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
    """Every valid candidate frame is a sample labelled with its video's class; the head starts as a copy of
    `initial` when given (a warm start)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    frames = torch.from_numpy(data.representation[data.mask])
    labels = torch.from_numpy(np.repeat(data.labels, data.mask.sum(axis=1)))
    head = (copy.deepcopy(initial) if initial is not None
            else SharedHead(frames.shape[-1], num_classes, settings.hidden_dim, settings.dropout))
    total_epochs = epochs or settings.epochs
    steps_per_epoch = max(1, -(-len(frames) // settings.batch_size))
    opt = build_optimizer(head.parameters(), optimizer.model_copy(update={"lr": settings.learning_rate}))
    sched = build_scheduler(opt, scheduler, steps_per_epoch, total_epochs)

    def train_one_epoch(epoch: int) -> float:
        return run_epoch(
            torch.randperm(len(frames), generator=generator), settings.batch_size,
            lambda batch: loss(head(frames[batch]), labels[batch]), opt, sched,
        )

    scorer = SharedScorer(head)
    result = fit(
        head, train_one_epoch, (lambda: validate(scorer)) if validate is not None else None,
        total_epochs, settings.patience, "classifier", on_epoch, progress,
    )
    return head, result

