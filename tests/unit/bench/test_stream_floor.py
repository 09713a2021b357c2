"""`bench stream-floor`'s table: each floor's event recall and precision over several clip orders, with the
missed bursts by cause."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.stream_floor import floor_rows, summary_line
from training.stream_validation import MissCauses, in_burst, stream_windows

IDLE = 2  # classes: walk, wave, idle


def test_each_floor_averages_the_orders_and_sums_the_misses() -> None:
    labels = np.array([0, 1, IDLE])
    flags = in_burst(np.tile(np.arange(4), (3, 1)), [(0, 4), (0, 4), None])
    aligned = np.array([[0.9, 0.05, 0.05], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])  # walk sure, wave unsure, idle
    idle_straddling = np.full((2, 3), [0.1, 0.1, 0.8])
    false_wave = np.array([[0.1, 0.1, 0.8], [0.1, 0.7, 0.2]])  # the second order's wave+idle window: wave
    orders = [stream_windows(aligned, idle_straddling, flags, labels, np.array([0, 1, 2])),
              stream_windows(aligned, false_wave, flags, labels, np.array([2, 0, 1]))]

    off, strict = floor_rows(orders, IDLE, min_burst_candidates=2, floors=(0.0, 0.6))

    assert off.recall == (1.0, 1.0, 1.0) and off.misses == MissCauses()
    # The second order's straddling windows: idle+walk (idle) and walk+wave, which holds both bursts: wave is true.
    assert off.precision == (1.0, 1.0, 1.0)
    assert strict.recall == (0.75, 0.5, 1.0)  # the unsure wave is missed in the first order only
    assert strict.misses == MissCauses(below_floor=1)
    assert strict.f1 == pytest.approx(2 * 0.75 / 1.75)
    figures = json.loads(summary_line([off, strict], clips=3, orders=2, bundle_floor=0.55))
    assert figures["floors"][1]["misses"] == {"below_floor": 1, "idle": 0, "other_action": 0}
