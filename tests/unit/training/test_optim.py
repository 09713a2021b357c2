import itertools
import math

import pytest
import torch

from training.optim import OptimizerSettings, SchedulerSettings, build_optimizer, build_scheduler


def _learning_rates(settings: SchedulerSettings, steps_per_epoch: int, epochs: int, lr: float = 1.0) -> list[float]:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = build_optimizer([parameter], OptimizerSettings(name="sgd", lr=lr, weight_decay=0.0))
    scheduler = build_scheduler(optimizer, settings, steps_per_epoch=steps_per_epoch, epochs=epochs)
    rates = []
    for _ in range(steps_per_epoch * epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_cosine_warms_up_linearly_then_decays_to_the_floor() -> None:
    settings = SchedulerSettings(name="cosine", warmup_epochs=1, warmup_start_factor=0.1, min_lr_ratio=0.05)

    rates = _learning_rates(settings, steps_per_epoch=4, epochs=5)

    assert rates[:5] == pytest.approx([0.1, 0.325, 0.55, 0.775, 1.0])
    decay = rates[4:]
    assert all(later < earlier for earlier, later in itertools.pairwise(decay))
    assert rates[-1] == pytest.approx(0.05)
    # decay step k of 16 (progress k / 15): floor + (1 - floor) * (1 + cos(pi * k / 15)) / 2
    assert rates[4 + 8] == pytest.approx(0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * 8 / 15)))


def test_step_schedule_decays_every_step_epochs_after_warm_up() -> None:
    settings = SchedulerSettings(name="step", warmup_epochs=0.5, warmup_start_factor=0.5, step_epochs=2, step_gamma=0.1)

    rates = _learning_rates(settings, steps_per_epoch=2, epochs=5)

    assert rates == pytest.approx([0.5, 1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1, 0.01])


def test_one_cycle_rises_over_the_warm_up_then_falls() -> None:
    settings = SchedulerSettings(
        name="one_cycle", warmup_epochs=1, one_cycle_div_factor=10, one_cycle_final_div_factor=100
    )

    rates = _learning_rates(settings, steps_per_epoch=5, epochs=4, lr=0.5)

    peak = rates.index(max(rates))
    assert rates[0] == pytest.approx(0.05)
    assert max(rates) == pytest.approx(0.5)
    assert peak == 5
    assert all(later <= earlier for earlier, later in zip(rates[peak:], rates[peak + 1 :], strict=False))
    assert rates[-1] < 0.05


def test_constant_schedule_without_warm_up_keeps_the_rate() -> None:
    rates = _learning_rates(SchedulerSettings(name="constant", warmup_epochs=0), steps_per_epoch=3, epochs=2, lr=0.2)

    assert rates == pytest.approx([0.2] * 6)


def test_optimizers_take_their_settings() -> None:
    parameter = torch.nn.Parameter(torch.zeros(2))

    adamw = build_optimizer([parameter], OptimizerSettings(name="adamw", lr=0.01, weight_decay=0.1, betas=(0.8, 0.9)))
    sgd = build_optimizer([parameter], OptimizerSettings(name="sgd", lr=0.1, momentum=0.5))

    assert isinstance(adamw, torch.optim.AdamW)
    assert adamw.defaults["betas"] == (0.8, 0.9) and adamw.defaults["weight_decay"] == 0.1
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.defaults["momentum"] == 0.5 and sgd.defaults["nesterov"] is True


def test_scheduler_rejects_empty_training() -> None:
    optimizer = build_optimizer([torch.nn.Parameter(torch.zeros(1))], OptimizerSettings())

    with pytest.raises(ValueError, match="steps_per_epoch"):
        build_scheduler(optimizer, SchedulerSettings(), steps_per_epoch=0, epochs=3)
