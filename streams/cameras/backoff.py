"""Exponential backoff with jitter for reconnects."""

from __future__ import annotations

import random

from streams.cameras.config import ResilienceSettings


class Backoff:
    def __init__(self, settings: ResilienceSettings, rng: random.Random | None = None) -> None:
        self.settings = settings
        self._rng = rng or random.Random()
        self.attempts = 0

    def next_delay(self) -> float:
        """Delay before the next attempt; grows until the cap, each draw jittered so cameras do not align."""
        s = self.settings
        # The exponent stops growing well past the cap, so days of retrying never overflow a float.
        growth = s.backoff_multiplier ** min(self.attempts, 64)
        base = min(s.backoff_max_s, s.backoff_initial_s * growth)
        self.attempts += 1
        return base * (1.0 + self._rng.uniform(-s.backoff_jitter, s.backoff_jitter))

    def reset(self) -> None:
        self.attempts = 0
