"""Synthetic drift windows: quality stats, X_i from a low-rank scene model, and window outcomes.

A shift moves what a real one would: brightness +30 lifts luma and moves X_i along one scene direction, noise
raises sharpness and delta and scatters X_i, blur drops sharpness and moves X_i along another direction, a new
action mix changes the labels and lowers the confidence."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from processors.drift.sample import WindowSample
from processors.drift.settings import DriftSettings

Shift = Literal["none", "brightness", "noise", "blur", "action_mix"]
SHIFTS: list[Shift] = ["brightness", "noise", "blur", "action_mix"]
DIM, LATENT = 96, 8
CLASSES = ["idle", "walk", "run", "fall", "wave"]
MIX = np.array([0.4, 0.25, 0.15, 0.1, 0.1])
NEW_MIX = np.array([0.1, 0.1, 0.15, 0.25, 0.4])
_SCENE = np.random.default_rng(1234)
BASIS = _SCENE.normal(size=(LATENT, DIM))
BRIGHT_DIRECTION, BLUR_DIRECTION = _SCENE.normal(size=(2, DIM))


def make_window(rng: np.random.Generator, shift: Shift = "none", frames: int = 120, outcomes: int = 30
                ) -> WindowSample:
    latent = rng.normal(size=(frames, LATENT))
    embeddings = latent @ BASIS + 0.5 * rng.normal(size=(frames, DIM))
    brightness = rng.normal(110.0, 18.0, frames)
    sharpness = rng.gamma(4.0, 60.0, frames)
    delta = rng.beta(2.0, 5.0, frames)
    mix, confidence = MIX, rng.beta(6.0, 2.0, outcomes)
    if shift == "brightness":
        brightness = brightness + 30.0
        embeddings = embeddings + 2.0 * BRIGHT_DIRECTION
    elif shift == "noise":
        sharpness = sharpness * 3.0
        delta = np.clip(delta + 0.15, 0, 1)
        embeddings = 0.7 * embeddings + 2.5 * rng.normal(size=embeddings.shape)
    elif shift == "blur":
        sharpness = sharpness * 0.3
        embeddings = embeddings + 2.0 * BLUR_DIRECTION
    elif shift == "action_mix":
        mix, confidence = NEW_MIX, rng.beta(4.0, 3.0, outcomes)
    labels = [CLASSES[index] for index in rng.choice(len(CLASSES), outcomes, p=mix)]
    rest = (1.0 - confidence)[:, None] * np.array([0.6, 0.4])
    return WindowSample(
        quality={"brightness": brightness, "sharpness": sharpness, "delta": delta},
        embeddings=embeddings.astype(np.float32), labels=labels,
        top_k=np.column_stack([confidence, rest]), event_ids=[f"e{rng.integers(1 << 40)}" for _ in labels],
    )


@pytest.fixture
def settings() -> DriftSettings:
    return DriftSettings()
