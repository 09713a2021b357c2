"""Optimisers (AdamW, SGD) and per-batch learning-rate schedules (cosine, step, one-cycle) with warm-up."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR

ParamsT = Iterable[torch.Tensor] | Iterable[dict[str, Any]]


class OptimizerSettings(BaseModel):
    """Optimiser choice and hyper-parameters."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["adamw", "sgd"] = "adamw"
    lr: float = Field(1e-3, gt=0.0, description="peak learning rate")
    weight_decay: float = Field(0.01, ge=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="SGD momentum")
    nesterov: bool = Field(True, description="Nesterov momentum for SGD")
    betas: tuple[float, float] = Field((0.9, 0.999), description="AdamW betas")


class SchedulerSettings(BaseModel):
    """Learning-rate schedule, stepped once per batch."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["cosine", "step", "one_cycle", "constant"] = "cosine"
    warmup_epochs: float = Field(1.0, ge=0.0, description="linear warm-up length (fractions allowed)")
    warmup_start_factor: float = Field(0.01, gt=0.0, le=1.0, description="lr multiplier at step 0")
    min_lr_ratio: float = Field(0.0, ge=0.0, le=1.0, description="cosine floor as a fraction of lr")
    step_epochs: int = Field(10, ge=1, description="step schedule: epochs between decays")
    step_gamma: float = Field(0.1, gt=0.0, le=1.0, description="step schedule: decay factor")
    one_cycle_div_factor: float = Field(25.0, gt=1.0, description="one-cycle: lr / initial lr")
    one_cycle_final_div_factor: float = Field(1e4, gt=1.0, description="one-cycle: initial lr / final lr")


def build_optimizer(params: ParamsT, settings: OptimizerSettings) -> torch.optim.Optimizer:
    """AdamW or SGD over ``params`` (tensors or parameter groups)."""
    if settings.name == "adamw":
        return torch.optim.AdamW(
            params, lr=settings.lr, betas=settings.betas, weight_decay=settings.weight_decay
        )
    return torch.optim.SGD(
        params,
        lr=settings.lr,
        momentum=settings.momentum,
        nesterov=settings.nesterov and settings.momentum > 0,
        weight_decay=settings.weight_decay,
    )


def build_scheduler(
    optimizer: torch.optim.Optimizer, settings: SchedulerSettings, steps_per_epoch: int, epochs: int
) -> LRScheduler:
    """A schedule to ``step()`` after every optimiser step, ``steps_per_epoch * epochs`` steps in all.

    cosine/step/constant: linear warm-up from ``warmup_start_factor`` x lr to lr, then the decay.
    one_cycle: PyTorch's OneCycleLR, whose rising phase is the warm-up (``warmup_epochs`` long).
    """
    if steps_per_epoch < 1 or epochs < 1:
        raise ValueError(f"need steps_per_epoch >= 1 and epochs >= 1, got {steps_per_epoch}, {epochs}")
    total_steps = steps_per_epoch * epochs
    warmup_steps = min(round(settings.warmup_epochs * steps_per_epoch), total_steps - 1)
    if settings.name == "one_cycle":
        peak_lrs = [group["lr"] for group in optimizer.param_groups]
        return OneCycleLR(
            optimizer,
            max_lr=peak_lrs,
            total_steps=total_steps,
            pct_start=(warmup_steps + 1) / total_steps,  # peak at step warmup_steps, as the others
            div_factor=settings.one_cycle_div_factor,
            final_div_factor=settings.one_cycle_final_div_factor,
            cycle_momentum=False,  # AdamW and SGD alike; momentum stays as configured
        )

    def lr_factor(step: int) -> float:
        if step < warmup_steps:
            start = settings.warmup_start_factor
            return start + (1.0 - start) * step / warmup_steps
        return _decay_factor(settings, step - warmup_steps, total_steps - warmup_steps, steps_per_epoch)

    return LambdaLR(optimizer, lr_factor)


def _decay_factor(settings: SchedulerSettings, step: int, decay_steps: int, steps_per_epoch: int) -> float:
    if settings.name == "cosine":
        progress = min(step / max(decay_steps - 1, 1), 1.0)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return settings.min_lr_ratio + (1.0 - settings.min_lr_ratio) * cosine
    if settings.name == "step":
        return settings.step_gamma ** (step // (settings.step_epochs * steps_per_epoch))
    return 1.0
