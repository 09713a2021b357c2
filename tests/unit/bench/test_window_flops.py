"""Total compute per window in `bench selection`: which frames each strategy must encode, per classifier kind."""

from __future__ import annotations

import pytest

from bench.selection import window_flops

ENCODER, SELECTORS, CLASSIFIER = 400, {"single": 3, "global": 20}, 7.0
T, N = 32, 4


@pytest.mark.parametrize(("strategy", "kind", "expected"), [
    ("smart", "shared", T * ENCODER + 23 + CLASSIFIER),  # selectors score all T: the encoder runs on all T
    ("single", "shared", T * ENCODER + 3 + CLASSIFIER),
    ("global", "heavy", T * ENCODER + 20 + CLASSIFIER),
    ("dense", "shared", T * ENCODER + CLASSIFIER),
    ("uniform", "shared", N * ENCODER + CLASSIFIER),  # features only of the n frames classified
    ("random", "heavy", CLASSIFIER),  # the heavy classifier reads raw frames: no encoder
    ("dense", "heavy", CLASSIFIER),
])
def test_window_flops_count_every_frame_a_strategy_touches(strategy: str, kind: str, expected: float) -> None:
    assert window_flops(strategy, kind, T, N, ENCODER, SELECTORS, CLASSIFIER) == expected
