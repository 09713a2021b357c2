"""Training of the two SMART selectors (SMART.md section 7, steps 3 and 4).

The single-frame selector regresses the cross-fitted oracle (BCE with soft targets on the logit); the
global selector is trained as a video classifier (per-step cross-entropy). Both are early-stopped and
selected on the end-to-end validation metric passed in as `validate`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from models.selectors import GlobalSelector, SingleFrameSelector, draw_partners, step_cross_entropy
from training.features import FeatureSet
from training.loop import EpochCallback, FitResult, fit, run_epoch
from training.optim import OptimizerSettings, SchedulerSettings, build_optimizer, build_scheduler
from training.smart_settings import SelectorSettings


def train_single_selector(
    selector: SingleFrameSelector,
    data: FeatureSet,
    oracle: np.ndarray,
    settings: SelectorSettings,
    optimizer: OptimizerSettings,
    scheduler: SchedulerSettings,
    validate: Callable[[], float],
    on_epoch: EpochCallback | None = None,
    seed: int = 0,
    progress: bool = True,
) -> FitResult:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    frames = torch.from_numpy(data.representation[data.mask])
    targets = torch.from_numpy(oracle[data.mask].astype(np.float32))
    steps_per_epoch = max(1, -(-len(frames) // settings.single_batch_size))
    opt = build_optimizer(selector.parameters(), optimizer.model_copy(update={"lr": settings.single_learning_rate}))
    sched = build_scheduler(opt, scheduler, steps_per_epoch, settings.single_epochs)
    criterion = nn.BCEWithLogitsLoss()

    def train_one_epoch(epoch: int) -> float:
        return run_epoch(
            torch.randperm(len(frames), generator=generator), settings.single_batch_size,
            lambda batch: criterion(selector(frames[batch]), targets[batch]), opt, sched,
        )

    return fit(selector, train_one_epoch, validate, settings.single_epochs, settings.patience,
               "single_selector", on_epoch, progress)


def train_global_selector(
    selector: GlobalSelector,
    data: FeatureSet,
    settings: SelectorSettings,
    optimizer: OptimizerSettings,
    scheduler: SchedulerSettings,
    validate: Callable[[], float],
    on_epoch: EpochCallback | None = None,
    seed: int = 0,
    progress: bool = True,
) -> FitResult:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    frames = torch.from_numpy(data.representation)
    mask = torch.from_numpy(data.mask)
    labels = torch.from_numpy(data.labels)
    steps_per_epoch = max(1, -(-len(labels) // settings.batch_size))
    opt = build_optimizer(selector.parameters(), optimizer.model_copy(update={"lr": settings.global_learning_rate}))
    sched = build_scheduler(opt, scheduler, steps_per_epoch, settings.global_epochs)

    def batch_loss(batch: torch.Tensor) -> torch.Tensor:
        # A fresh partner draw every step: the selector must not depend on one particular pairing.
        output = selector(frames[batch], mask[batch], draw_partners(mask[batch], generator))
        return step_cross_entropy(output.step_logits, labels[batch], mask[batch])

    def train_one_epoch(epoch: int) -> float:
        return run_epoch(
            torch.randperm(len(labels), generator=generator), settings.batch_size, batch_loss, opt, sched,
            before_step=lambda: nn.utils.clip_grad_norm_(selector.parameters(), max_norm=5.0),
        )

    return fit(selector, train_one_epoch, validate, settings.global_epochs, settings.patience,
               "global_selector", on_epoch, progress)
