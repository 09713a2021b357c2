"""Reconnect backoff: exponential growth, cap, bounded jitter, reset."""

from __future__ import annotations

import random

import pytest

from streams.cameras.backoff import Backoff
from streams.cameras.config import ResilienceSettings


def _no_jitter(**overrides: float) -> ResilienceSettings:
    defaults = {"backoff_initial_s": 0.5, "backoff_max_s": 30.0, "backoff_multiplier": 2.0, "backoff_jitter": 0.0}
    return ResilienceSettings.model_validate({**defaults, **overrides})


def test_delay_grows_by_the_multiplier_until_the_cap() -> None:
    backoff = Backoff(_no_jitter(), random.Random(0))
    delays = [backoff.next_delay() for _ in range(10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


def test_delay_stays_capped_after_very_many_failures() -> None:
    # "Reconnect forever": a camera down for a day (thousands of attempts) must still get the capped delay.
    backoff = Backoff(_no_jitter(), random.Random(0))
    delays = [backoff.next_delay() for _ in range(2000)]
    assert delays[-1] == 30.0


def test_jitter_stays_within_its_fraction() -> None:
    settings = _no_jitter(backoff_jitter=0.2)
    backoff = Backoff(settings, random.Random(1234))
    bases = [min(30.0, 0.5 * 2.0**attempt) for attempt in range(12)]
    delays = [backoff.next_delay() for _ in bases]
    for base, delay in zip(bases, delays, strict=False):
        assert 0.8 * base <= delay <= 1.2 * base
    # Jitter really varies the delays (cameras must not reconnect in lock step).
    capped = [delay / 30.0 for delay in delays[-5:]]
    assert len(set(capped)) == len(capped)


def test_same_seed_gives_same_delays() -> None:
    settings = _no_jitter(backoff_jitter=0.5)
    first = Backoff(settings, random.Random(7))
    second = Backoff(settings, random.Random(7))
    assert [first.next_delay() for _ in range(8)] == [second.next_delay() for _ in range(8)]


def test_reset_starts_again_at_the_initial_delay() -> None:
    backoff = Backoff(_no_jitter(), random.Random(0))
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == pytest.approx(0.5)
