"""Epoch loop with early stopping and model selection on a validation score (higher is better)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

logger = logging.getLogger(__name__)

EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass
class FitResult:
    best_score: float
    best_epoch: int  # 1-based; the module holds this epoch's weights after fit()
    history: list[dict[str, float]] = field(default_factory=list)


def run_epoch(
    order: Any,
    batch_size: int,
    batch_loss: Callable[[Any], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    before_step: Callable[[], None] | None = None,
) -> float:
    """One pass over `order` (a permutation of sample indices) in mini-batches; returns the mean loss per
    sample. `before_step` runs between backward and the optimiser step (gradient clipping)."""
    total = 0.0
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        optimizer.zero_grad()
        value = batch_loss(batch)
        value.backward()
        if before_step is not None:
            before_step()
        optimizer.step()
        scheduler.step()
        total += float(value.detach()) * len(batch)
    return total / len(order)


def fit(
    module: nn.Module,
    train_one_epoch: Callable[[int], float],
    validate: Callable[[], float] | None,
    epochs: int,
    patience: int,
    step_name: str,
    on_epoch: EpochCallback | None = None,
    progress: bool = True,
) -> FitResult:
    """Train for up to `epochs`; without `validate` keep the last epoch, else the best-scoring one."""
    best_score, best_epoch, best_state = float("-inf"), 0, copy.deepcopy(module.state_dict())
    history: list[dict[str, float]] = []
    bar = tqdm(range(1, epochs + 1), desc=step_name, unit="epoch", disable=not progress)
    for epoch in bar:
        module.train()
        metrics = {f"{step_name}/train_loss": train_one_epoch(epoch)}
        module.eval()
        score = validate() if validate is not None else float(epoch)
        if validate is not None:
            metrics[f"{step_name}/val_end_to_end"] = score
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(epoch, metrics)
        bar.set_postfix({key.split("/")[-1]: f"{value:.3f}" for key, value in metrics.items()})
        # Ties go to the later epoch: on small validation sets a plateau is common and later is better trained.
        if score >= best_score:
            best_score, best_epoch, best_state = score, epoch, copy.deepcopy(module.state_dict())
        elif epoch - best_epoch >= patience:
            logger.info("%s: early stop at epoch %d (best %.4f at epoch %d)", step_name, epoch, best_score, best_epoch)
            break
    module.load_state_dict(best_state)
    module.eval()
    return FitResult(best_score=best_score, best_epoch=best_epoch, history=history)
