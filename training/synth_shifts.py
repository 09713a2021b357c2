"""Known distribution shifts for synthetic feeds: pure functions on rendered frames, scenes and class mixes.

Image shifts (brightness, noise, blur) act on a rendered uint8 RGB frame, as a camera whose exposure, sensor
or focus changed would; a new background replaces the scene a clip is rendered on; a new action mix changes
which classes a camera sees. Each takes its size from `ShiftSettings`, so a benchmark states what it shifted.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
from pydantic import BaseModel, Field
from scipy.ndimage import gaussian_filter

from training.synth_scene import HEADROOM

ShiftKind = Literal["brightness", "noise", "blur", "background", "action_mix"]
SHIFT_KINDS: tuple[ShiftKind, ...] = get_args(ShiftKind)
FrameShiftKind = Literal["brightness", "noise", "blur"]
FRAME_SHIFTS: tuple[FrameShiftKind, ...] = get_args(FrameShiftKind)


class ShiftSettings(BaseModel):
    """Size of each shift."""

    brightness_gain: float = Field(0.35, gt=0, description="Pixel values are multiplied by this (below 1: darker).")
    noise_sigma: float = Field(50.0, ge=0, description="Std of the added Gaussian sensor noise, in 0-255 units.")
    noise_grain: int = Field(3, ge=1, description="Side in pixels of the blocks that share one noise value: "
                             "low-light noise is blotchy after a camera's demosaicing and denoising, and fine "
                             "grain is averaged away by the resize to the encoder's input.")
    blur_sigma: float = Field(5.0, ge=0, description="Std of the Gaussian blur, in pixels of the rendered frame.")
    background_blocks: int = Field(40, ge=1, description="Saturated blocks of the new, cluttered background.")
    mix_classes: int = Field(1, ge=1, description="New action mix: this many classes (the model's weakest on the "
                             "validation set) take `mix_share` of the clips.")
    mix_share: float = Field(1.0, gt=0, le=1, description="Share of the known-class clips drawn from those classes.")
    new_actions_share: float = Field(0.2, ge=0, lt=1, description="Share of clips showing action kinds the model "
                                     "was not trained on (the generator's kinds beyond its classes).")


def darken(frame: np.ndarray, gain: float) -> np.ndarray:
    """Exposure change: every value times `gain`, clipped to 0-255."""
    return np.clip(frame.astype(np.float32) * np.float32(gain), 0, 255).astype(np.uint8)


def add_noise(frame: np.ndarray, sigma: float, rng: np.random.Generator, grain: int = 1) -> np.ndarray:
    """Additive Gaussian sensor noise of std `sigma`, independent per channel and per `grain` x `grain` block."""
    height, width, channels = frame.shape
    blocks = rng.normal(0.0, sigma, size=(-(-height // grain), -(-width // grain), channels)).astype(np.float32)
    noise = np.repeat(np.repeat(blocks, grain, axis=0), grain, axis=1)[:height, :width]
    return np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def blur(frame: np.ndarray, sigma: float) -> np.ndarray:
    """Defocus: a Gaussian blur of std `sigma` pixels over rows and columns, not across channels."""
    return np.clip(gaussian_filter(frame.astype(np.float32), sigma=(sigma, sigma, 0)), 0, 255).astype(np.uint8)


def shift_frame(kind: FrameShiftKind, frame: np.ndarray, settings: ShiftSettings,
                rng: np.random.Generator) -> np.ndarray:
    """One rendered frame [H, W, 3] after an image shift of `kind`."""
    if kind == "brightness":
        return darken(frame, settings.brightness_gain)
    if kind == "noise":
        return add_noise(frame, settings.noise_sigma, rng, settings.noise_grain)
    return blur(frame, settings.blur_sigma)


def clutter_background(rng: np.random.Generator, width: int, height: int, blocks: int) -> np.ndarray:
    """A scene unlike the generator's muted gradients: saturated, high-contrast rectangles on a bright ground,
    uint8 [H, W, 3] within the noise headroom (what `build_scene(background=...)` expects)."""
    image = np.empty((height, width, 3), dtype=np.float32)
    image[:] = rng.uniform(150.0, 230.0, size=3)
    for _ in range(blocks):
        block_w, block_h = (int(rng.integers(max(2, size // 12), max(3, size // 3))) for size in (width, height))
        left, top = int(rng.integers(0, width - block_w + 1)), int(rng.integers(0, height - block_h + 1))
        image[top:top + block_h, left:left + block_w] = rng.choice([0.0, 255.0], size=3) * rng.uniform(0.6, 1.0)
    return np.clip(image, HEADROOM, 255 - HEADROOM).astype(np.uint8)


def action_mix(num_classes: int, favoured: list[int], share: float, new_kinds: int = 0,
               new_share: float = 0.0) -> np.ndarray:
    """Action kind probabilities [C + new_kinds]: `new_share` evenly over the kinds after the C known classes;
    of the rest, `share` evenly over `favoured` and the remainder evenly over the other known classes."""
    chosen = sorted(set(favoured))
    if not chosen or not 0 <= chosen[0] <= chosen[-1] < num_classes:
        raise ValueError(f"favoured classes {favoured} must be a non-empty subset of 0..{num_classes - 1}")
    rest = num_classes - len(chosen)
    weights = np.full(num_classes, (1.0 - share) / rest if rest else 0.0)
    weights[chosen] = share / len(chosen)
    known = (1.0 - new_share if new_kinds else 1.0) * weights / weights.sum()
    return np.concatenate([known, np.full(new_kinds, new_share / new_kinds if new_kinds else 0.0)])


def weakest_classes(correct: np.ndarray, labels: np.ndarray, num_classes: int, count: int) -> list[int]:
    """The `count` classes with the lowest accuracy (ties: lower index first): the mix that hurts a model most."""
    accuracy = np.array([correct[labels == index].mean() if np.any(labels == index) else 1.0
                         for index in range(num_classes)])
    return [int(index) for index in np.argsort(accuracy, kind="stable")[:count]]
