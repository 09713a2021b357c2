import math

import pytest
import torch
import torch.nn.functional as F

from training.losses import LossSettings, available_losses, create_loss, register_loss

# softmax([0, ln 3]) = [0.25, 0.75]: -ln p = [1.386294, 0.287682]
LOGITS = torch.tensor([[0.0, math.log(3.0)], [0.0, math.log(3.0)]])
HARD = torch.tensor([1, 0])
SOFT = torch.tensor([[0.2, 0.8], [0.2, 0.8]])


@pytest.mark.parametrize(
    ("name", "kwargs", "hard_expected", "soft_expected"),
    [
        # hard: mean(-ln .75, -ln .25); soft: .2 * 1.386294 + .8 * 0.287682
        ("cross_entropy", {}, 0.836988, 0.507405),
        # hard: mean(.25^2 * 0.287682, .75^2 * 1.386294); soft: .2 * 0.779790 + .8 * 0.017980
        ("focal", {"gamma": 2.0}, 0.398885, 0.170342),
        # eps .1, C 2: y -> .9 y + .05. hard rows [.05, .95] and [.95, .05]; soft rows [.23, .77]
        ("label_smoothing", {"smoothing": 0.1}, 0.836988, 0.540363),
    ],
)
def test_loss_matches_hand_computed_values(
    name: str, kwargs: dict[str, float], hard_expected: float, soft_expected: float
) -> None:
    loss = create_loss(name, **kwargs)

    assert loss(LOGITS, HARD).item() == pytest.approx(hard_expected, abs=1e-5)
    assert loss(LOGITS, SOFT).item() == pytest.approx(soft_expected, abs=1e-5)


def test_label_smoothing_single_row_hand_value() -> None:
    loss = create_loss("label_smoothing", smoothing=0.1)

    # y = [.05, .95]: .05 * 1.386294 + .95 * 0.287682
    assert loss(LOGITS[:1], HARD[:1]).item() == pytest.approx(0.342613, abs=1e-5)


def test_cross_entropy_and_smoothing_agree_with_torch() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 5, generator=generator)
    targets = torch.randint(0, 5, (8,), generator=generator)

    assert create_loss("cross_entropy")(logits, targets).item() == pytest.approx(
        F.cross_entropy(logits, targets).item(), abs=1e-6
    )
    assert create_loss("label_smoothing", smoothing=0.2)(logits, targets).item() == pytest.approx(
        F.cross_entropy(logits, targets, label_smoothing=0.2).item(), abs=1e-6
    )


def test_focal_with_gamma_zero_is_cross_entropy() -> None:
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 4, generator=generator)
    soft = torch.softmax(torch.randn(6, 4, generator=generator), dim=1)

    assert create_loss("focal", gamma=0.0)(logits, soft).item() == pytest.approx(
        create_loss("cross_entropy")(logits, soft).item(), abs=1e-6
    )


@pytest.mark.parametrize("name", available_losses())
def test_every_registered_loss_takes_hard_and_soft_targets_and_backpropagates(name: str) -> None:
    logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(2), requires_grad=True)
    hard = torch.tensor([0, 1, 2, 1])
    soft = F.one_hot(hard, 3).float()
    loss = create_loss(name)

    hard_value = loss(logits, hard)
    hard_value.backward()

    assert hard_value.dim() == 0
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert loss(logits, soft).item() == pytest.approx(hard_value.item(), abs=1e-6)


def test_registry_rejects_duplicates_and_unknown_names() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_loss("focal")(torch.nn.Module)
    with pytest.raises(KeyError, match="unknown loss"):
        create_loss("hinge")


def test_soft_targets_with_wrong_class_count_are_rejected() -> None:
    with pytest.raises(ValueError, match="classes"):
        create_loss("cross_entropy")(LOGITS, torch.tensor([[0.2, 0.3, 0.5]] * 2))


def test_loss_settings_create_the_configured_loss() -> None:
    focal = LossSettings(name="focal", focal_gamma=1.5).create()
    smoothing = LossSettings(name="label_smoothing", smoothing=0.3).create()

    assert focal.gamma == 1.5
    assert smoothing.smoothing == 0.3
