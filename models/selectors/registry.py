"""Frame-selection strategies behind one interface, in a named registry.

`smart` is the method (delta * gamma); `uniform`, `random`, `dense`, `single` and `global` are the
baselines every claim is measured against (SMART.md section 5). Each takes the same inputs: the frame
representations X [B,T,D], the validity mask [B,T] and the budget n.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from models.selectors.global_selector import GlobalSelector
from models.selectors.selection import Selection, fuse_scores, spread_indices, top_n_in_time_order
from models.selectors.single import SingleFrameSelector


@dataclass
class SelectorModels:
    """The trained selectors a learned strategy needs."""

    single: SingleFrameSelector
    global_: GlobalSelector
    global_draws: int = 1  # partner draws averaged per window at inference (SMART.md section 4)

    def eval(self) -> SelectorModels:
        self.single.eval()
        self.global_.eval()
        return self


class SelectionStrategy(Protocol):
    def select(self, frames: torch.Tensor, mask: torch.Tensor, num_frames: int) -> Selection: ...


StrategyFactory = Callable[[SelectorModels | None, int], SelectionStrategy]
_STRATEGIES: dict[str, StrategyFactory] = {}
_NEEDS_MODELS: set[str] = set()


def register_strategy(name: str, needs_models: bool = False) -> Callable[[StrategyFactory], StrategyFactory]:
    def decorator(factory: StrategyFactory) -> StrategyFactory:
        if name in _STRATEGIES:
            raise ValueError(f"selection strategy {name!r} is already registered")
        _STRATEGIES[name] = factory
        if needs_models:
            _NEEDS_MODELS.add(name)
        return factory

    return decorator


def strategy_names() -> list[str]:
    return sorted(_STRATEGIES)


def needs_models(name: str) -> bool:
    return name in _NEEDS_MODELS


def create_strategy(name: str, models: SelectorModels | None = None, seed: int = 0) -> SelectionStrategy:
    if name not in _STRATEGIES:
        raise KeyError(f"unknown selection strategy {name!r}; known: {', '.join(strategy_names())}")
    if name in _NEEDS_MODELS and models is None:
        raise ValueError(f"selection strategy {name!r} needs trained selector models")
    return _STRATEGIES[name](models, seed)


class _Uniform:
    def select(self, frames: torch.Tensor, mask: torch.Tensor, num_frames: int) -> Selection:
        indices = spread_indices(mask.sum(dim=1), num_frames)
        return Selection(indices=indices, mask=torch.ones_like(indices, dtype=torch.bool))


class _Random:
    def __init__(self, seed: int) -> None:
        self.generator = torch.Generator().manual_seed(seed)

    def select(self, frames: torch.Tensor, mask: torch.Tensor, num_frames: int) -> Selection:
        noise = torch.rand(mask.shape, generator=self.generator).to(frames.device)
        return top_n_in_time_order(noise, mask, num_frames)


class _Dense:
    def select(self, frames: torch.Tensor, mask: torch.Tensor, num_frames: int) -> Selection:
        indices = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
        return Selection(indices=indices, mask=mask.clone())


class _Learned:
    """Scores frames with the trained selectors: `use_single`, `use_global` pick delta, gamma or both."""

    def __init__(self, models: SelectorModels, seed: int, use_single: bool, use_global: bool) -> None:
        self.models = models.eval()
        self.seed = seed
        self.use_single = use_single
        self.use_global = use_global

    @torch.no_grad()
    def select(self, frames: torch.Tensor, mask: torch.Tensor, num_frames: int) -> Selection:
        scores = torch.ones(mask.shape, dtype=frames.dtype, device=frames.device)
        if self.use_single:
            scores = self.models.single.scores(frames)
        if self.use_global:
            # The partner draw is seeded per call, so a window always gets the same gamma.
            generator = torch.Generator(device=frames.device).manual_seed(self.seed)
            gamma = self.models.global_.scores(frames, mask, generator, self.models.global_draws)
            scores = fuse_scores(scores, gamma)
        return top_n_in_time_order(scores, mask, num_frames)


def _learned(use_single: bool, use_global: bool) -> StrategyFactory:
    def factory(models: SelectorModels | None, seed: int) -> SelectionStrategy:
        assert models is not None  # create_strategy refuses learned strategies without models
        return _Learned(models, seed, use_single=use_single, use_global=use_global)

    return factory


register_strategy("uniform")(lambda models, seed: _Uniform())
register_strategy("random")(lambda models, seed: _Random(seed))
register_strategy("dense")(lambda models, seed: _Dense())
register_strategy("single", needs_models=True)(_learned(use_single=True, use_global=False))
register_strategy("global", needs_models=True)(_learned(use_single=False, use_global=True))
register_strategy("smart", needs_models=True)(_learned(use_single=True, use_global=True))
