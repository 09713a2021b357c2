from __future__ import annotations

import torch

from models.flops import count_flops


def test_counts_a_linear_layer_exactly() -> None:
    layer = torch.nn.Linear(10, 5)
    inputs = torch.zeros(3, 10)
    assert count_flops(lambda: layer(inputs)) == 2 * 3 * 10 * 5


def test_counts_the_lstm_that_the_counter_does_not_know() -> None:
    lstm = torch.nn.LSTM(16, 8, batch_first=True)
    inputs = torch.zeros(2, 5, 16)
    assert count_flops(lambda: lstm(inputs)) == 2 * (2 * 5) * (4 * 8) * (16 + 8)
