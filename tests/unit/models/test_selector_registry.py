from __future__ import annotations

import pytest
import torch

from models.selectors import (
    GlobalSelector,
    SelectorModels,
    SingleFrameSelector,
    create_strategy,
    needs_models,
    strategy_names,
)
from models.selectors.registry import register_strategy

DIM, CLASSES, STEPS, BUDGET = 6, 3, 10, 4


@pytest.fixture(scope="module")
def models() -> SelectorModels:
    torch.manual_seed(0)
    return SelectorModels(SingleFrameSelector(DIM, hidden_dim=8), GlobalSelector(DIM, CLASSES, hidden_dim=8))


def test_every_baseline_and_the_method_are_registered() -> None:
    assert set(strategy_names()) == {"smart", "uniform", "random", "dense", "single", "global"}


@pytest.mark.parametrize("name", strategy_names())
def test_strategy_contract(name: str, models: SelectorModels) -> None:
    frames = torch.randn(3, STEPS, DIM, generator=torch.Generator().manual_seed(1))
    mask = torch.arange(STEPS).unsqueeze(0) < torch.tensor([[STEPS], [7], [2]])
    selection = create_strategy(name, models, seed=0).select(frames, mask, BUDGET)
    repeat = create_strategy(name, models, seed=0).select(frames, mask, BUDGET)
    assert torch.equal(selection.indices, repeat.indices), "same seed, same selection"
    expected_width = STEPS if name == "dense" else BUDGET
    assert selection.indices.shape == selection.mask.shape == (3, expected_width)
    lengths = mask.sum(dim=1)
    for row in range(3):
        chosen = selection.indices[row][selection.mask[row]]
        assert bool((chosen < lengths[row]).all()), "only valid frames"
        assert bool((chosen[1:] >= chosen[:-1]).all()), "time order"
    if name != "dense":
        assert selection.indices[0].unique().numel() == BUDGET, "distinct frames when the window has enough"


def test_learned_strategies_need_models() -> None:
    learned = [name for name in strategy_names() if needs_models(name)]
    assert sorted(learned) == ["global", "single", "smart"]
    for name in learned:
        with pytest.raises(ValueError, match="needs trained selector models"):
            create_strategy(name)


def test_unknown_and_duplicate_names_raise() -> None:
    with pytest.raises(KeyError, match="unknown selection strategy"):
        create_strategy("nope")
    with pytest.raises(ValueError, match="already registered"):
        register_strategy("uniform")(lambda models, seed: create_strategy("uniform"))


def test_uniform_spreads_over_the_valid_prefix() -> None:
    mask = torch.arange(8).unsqueeze(0) < 8
    selection = create_strategy("uniform").select(torch.zeros(1, 8, DIM), mask, 4)
    assert selection.indices.tolist() == [[1, 3, 5, 7]]
