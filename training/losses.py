"""Classification losses in a small registry; each takes integer targets [B] or soft targets [B, C]."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

LossFactory = Callable[..., nn.Module]
_LOSSES: dict[str, LossFactory] = {}


class LossSettings(BaseModel):
    """Which loss to train with and its parameters (unused parameters are ignored by other losses)."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["cross_entropy", "focal", "label_smoothing"] = "cross_entropy"
    focal_gamma: float = Field(2.0, ge=0.0, description="focusing exponent of the focal loss")
    smoothing: float = Field(0.1, ge=0.0, lt=1.0, description="label smoothing epsilon")

    def create(self) -> nn.Module:
        """The configured loss module."""
        if self.name == "focal":
            return create_loss(self.name, gamma=self.focal_gamma)
        if self.name == "label_smoothing":
            return create_loss(self.name, smoothing=self.smoothing)
        return create_loss(self.name)


def register_loss(name: str) -> Callable[[LossFactory], LossFactory]:
    """Class decorator adding a loss under ``name``; a duplicate name raises."""

    def add(factory: LossFactory) -> LossFactory:
        if name in _LOSSES:
            raise ValueError(f"loss {name!r} is already registered")
        _LOSSES[name] = factory
        return factory

    return add


def available_losses() -> list[str]:
    """Registered loss names, sorted."""
    return sorted(_LOSSES)


def create_loss(name: str, **kwargs: Any) -> nn.Module:
    """Instantiate the loss registered under ``name``."""
    if name not in _LOSSES:
        raise KeyError(f"unknown loss {name!r}; available: {available_losses()}")
    return _LOSSES[name](**kwargs)


def as_target_distribution(targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Soft targets [B, C] as given, or integer targets [B] as one-hot float rows."""
    if targets.dim() == 2:
        if targets.shape[1] != num_classes:
            raise ValueError(f"soft targets have {targets.shape[1]} classes, logits have {num_classes}")
        return targets.float()
    if targets.dim() == 1 and not targets.dtype.is_floating_point:
        return F.one_hot(targets.long(), num_classes).float()
    raise ValueError(f"targets must be integer [B] or float [B, C], got {targets.dtype} {tuple(targets.shape)}")


@register_loss("cross_entropy")
class CrossEntropyLoss(nn.Module):
    """Mean of -sum_c y_c log softmax(z)_c."""

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        distribution = as_target_distribution(targets, logits.shape[1])
        return -(distribution * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


@register_loss("label_smoothing")
class LabelSmoothingLoss(nn.Module):
    """Cross entropy against (1 - eps) * y + eps / C; soft targets are smoothed the same way."""

    def __init__(self, smoothing: float = 0.1) -> None:
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = smoothing

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        num_classes = logits.shape[1]
        distribution = as_target_distribution(targets, num_classes)
        smoothed = (1.0 - self.smoothing) * distribution + self.smoothing / num_classes
        return -(smoothed * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


@register_loss("focal")
class FocalLoss(nn.Module):
    """Mean of -sum_c y_c (1 - p_c)^gamma log p_c (Lin et al. 2017; gamma = 0 is cross entropy)."""

    def __init__(self, gamma: float = 2.0) -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        distribution = as_target_distribution(targets, logits.shape[1])
        log_probabilities = F.log_softmax(logits, dim=1)
        modulation = (1.0 - log_probabilities.exp()).pow(self.gamma)
        return -(distribution * modulation * log_probabilities).sum(dim=1).mean()
