from __future__ import annotations

import torch

from training.loop import fit


def test_keeps_the_best_epoch_and_stops_after_patience() -> None:
    module = torch.nn.Linear(1, 1, bias=False)
    scores = iter([0.1, 0.5, 0.3, 0.2, 0.9])  # the 0.9 must never be reached (patience 2 after epoch 2)

    def train_one_epoch(epoch: int) -> float:
        with torch.no_grad():
            module.weight.fill_(float(epoch))
        return 1.0 / epoch

    result = fit(module, train_one_epoch, lambda: next(scores), epochs=5, patience=2, step_name="t", progress=False)
    assert result.best_epoch == 2 and result.best_score == 0.5
    assert len(result.history) == 4
    assert float(module.weight) == 2.0, "weights of the best epoch are restored"


def test_ties_prefer_the_later_epoch_and_no_validation_keeps_the_last() -> None:
    module = torch.nn.Linear(1, 1, bias=False)
    scores = iter([0.5, 0.5, 0.4])

    def train_one_epoch(epoch: int) -> float:
        with torch.no_grad():
            module.weight.fill_(float(epoch))
        return 0.0

    assert fit(module, train_one_epoch, lambda: next(scores), 3, 5, "t", progress=False).best_epoch == 2
    assert fit(module, train_one_epoch, None, 3, 1, "t", progress=False).best_epoch == 3
    assert float(module.weight) == 3.0
