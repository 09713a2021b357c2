"""The motion part of a frame's representation: aligned temporal differences of gray candidate frames.

Frozen per-frame encoder features cannot tell motions of the same figure apart (issue 11: a head trained on
the true burst frames of the articulated family scores 0.10-0.27 on X_i), while a small CNN on the last three
differences of consecutive candidates reaches 0.62 (8 classes, chance 0.125). One function computes the
differences everywhere: `clip_motion_stacks` over a clip's candidates in training and evaluation, and
`CameraMotionState`, which keeps one camera's previous gray frame and differences, in serving. A frame with
no predecessor (a clip's first candidate, a camera's first frame after a restart) has zero differences.

Each difference is taken after undoing the camera's shake: the previous frame is shifted by the integer
offset that best matches the current one (coarse grid, then one pixel around the best), so the static
background cancels and what remains is what moved.
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

_LUMA = np.asarray([0.299, 0.587, 0.114], dtype=np.float32)


class MotionSettings(BaseModel):
    """How the difference stacks are computed (stored with a bundle so serving computes the same)."""

    model_config = ConfigDict(frozen=True)

    stack_depth: int = Field(3, ge=1, description="Differences per frame: the frame's own and its predecessors'.")
    output_size: int = Field(112, ge=8, description="Side of each difference map after average pooling.")
    search_radius_px: int = Field(6, ge=0, description="Largest camera shake undone between two candidates.")
    coarse_step_px: int = Field(2, ge=1, description="Grid step of the coarse shake search (then +-1 px).")
    border_px: int = Field(8, ge=0, description="Frame border zeroed in each difference (wrapped by the shift).")
    scale: float = Field(20.0, gt=0, description="Divisor bringing brightness differences to about unit size.")


def gray_frame(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB [H,W,3] -> float32 gray [H,W] with mean 128: slow lighting drift does not read as motion."""
    gray = rgb.astype(np.float32) @ _LUMA
    return gray * (128.0 / max(float(gray.mean()), 1e-6))


def shake_offset(previous: np.ndarray, current: np.ndarray, settings: MotionSettings) -> tuple[int, int]:
    """(dy, dx) such that `np.roll(previous, (dy, dx))` best matches `current` (mean squared difference)."""
    radius = settings.search_radius_px
    margin = radius + 1
    reference = current[margin:-margin, margin:-margin]
    height, width = previous.shape

    def mismatch(offset: tuple[int, int]) -> float:
        dy, dx = offset
        window = previous[margin - dy:height - margin - dy, margin - dx:width - margin - dx]
        return float(np.mean((window - reference) ** 2))

    grid = range(-radius, radius + 1, settings.coarse_step_px)
    coarse = min(((dy, dx) for dy in grid for dx in grid), key=mismatch)
    fine = [(coarse[0] + ddy, coarse[1] + ddx) for ddy in (-1, 0, 1) for ddx in (-1, 0, 1)
            if abs(coarse[0] + ddy) <= radius and abs(coarse[1] + ddx) <= radius]
    return min(fine, key=mismatch)


def aligned_difference(previous: np.ndarray, current: np.ndarray, settings: MotionSettings) -> np.ndarray:
    """Two gray frames (`gray_frame`) -> float32 [S,S]: current minus the shake-aligned previous, pooled to
    `output_size` and divided by `scale`."""
    offset = shake_offset(previous, current, settings)
    difference = current - np.roll(previous, offset, axis=(0, 1))
    border = settings.border_px
    if border:
        difference[:border], difference[-border:] = 0.0, 0.0
        difference[:, :border], difference[:, -border:] = 0.0, 0.0
    size = settings.output_size
    height, width = difference.shape
    if height % size or width % size:
        raise ValueError(f"frames of {height}x{width} do not pool evenly to {size}x{size}")
    pooled = difference.reshape(size, height // size, size, width // size).mean(axis=(1, 3))
    return (pooled / settings.scale).astype(np.float32)


def difference_flops_per_frame(settings: MotionSettings, height: int, width: int) -> int:
    """Estimated FLOPs of one frame's aligned difference (`CameraMotionState.push`), which runs in numpy where
    torch's counter cannot see it: the gray conversion (3 multiplies, 2 adds, 1 rescale a pixel), the shake
    search (each coarse offset and the 3x3 refinement: subtract, square, add over the compared region) and the
    difference with its pooling (2 a pixel)."""
    margin = settings.search_radius_px + 1
    compared = (height - 2 * margin) * (width - 2 * margin)
    offsets = len(range(-settings.search_radius_px, settings.search_radius_px + 1, settings.coarse_step_px)) ** 2 + 9
    return 6 * height * width + 3 * offsets * compared + 2 * height * width


class CameraMotionState:
    """One camera's last gray frame and differences: `push(frame)` returns that frame's difference stack."""

    def __init__(self, settings: MotionSettings) -> None:
        self.settings = settings
        self._previous: np.ndarray | None = None
        size = settings.output_size
        zero = np.zeros((size, size), dtype=np.float32)
        # Newest first; zeros stand for the differences before the first frame.
        self._differences: deque[np.ndarray] = deque([zero] * settings.stack_depth, maxlen=settings.stack_depth)

    def push(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 RGB [H,W,3] (the frame the encoder sees) -> float32 [stack_depth, S, S]."""
        current = gray_frame(rgb)
        if self._previous is None:
            difference = np.zeros((self.settings.output_size,) * 2, dtype=np.float32)
        else:
            difference = aligned_difference(self._previous, current, self.settings)
        self._previous = current
        self._differences.appendleft(difference)
        return np.stack(self._differences)


def clip_motion_stacks(frames: np.ndarray, settings: MotionSettings) -> np.ndarray:
    """A clip's candidates in time order, uint8 [T,H,W,3] -> float32 [T, stack_depth, S, S], computed as a
    camera would (`CameraMotionState` fed the candidates one by one)."""
    state = CameraMotionState(settings)
    return np.stack([state.push(frame) for frame in frames])


EnergyBaseline = Literal["window", "pixel"]
EnergyMeasure = Literal["magnitude", "area"]


class PixelCounting(BaseModel):
    """How a motion energy counts each pixel's |difference| (`window_motion_energy`): pooled how, above which
    threshold of which baseline, and adding up what."""

    model_config = ConfigDict(frozen=True)

    threshold: float = Field(0.0, ge=0, description="A pixel counts only above this multiple of the baseline (0: "
                             "every pixel counts).")
    baseline: EnergyBaseline = Field("window", description="What the threshold multiplies: the window's median "
                                     "|difference| (window) or each pixel's own median over the window (pixel).")
    pooling: int = Field(1, ge=1, description="Side of the blocks each |difference| map is averaged over first: a "
                         "block's median is steadier against sensor noise (1: every pixel).")
    measure: EnergyMeasure = Field("magnitude", description="What a candidate's energy adds up: each pixel's "
                                   "|difference| above the threshold (magnitude), or the number of pixels above it "
                                   "by more than `noise_floor` x the window's median |difference| (area: a limb "
                                   "counts by its size, not its contrast, so a high-contrast ball does not outshine "
                                   "a faint forearm).")
    noise_floor: float = Field(0.0, ge=0, description="area: the margin above the threshold a pixel needs to count, "
                               "a multiple of the window's median |difference| (0: any margin).")

    @model_validator(mode="after")
    def _noise_floor_is_an_area_margin(self) -> PixelCounting:
        if self.noise_floor and self.measure != "area":
            raise ValueError("noise_floor is the area measure's margin: set measure to area, or noise_floor to 0")
        return self


EVERY_PIXEL = PixelCounting()


def window_motion_energy(stacks: np.ndarray, smoothing: int = 3,
                         counting: PixelCounting = EVERY_PIXEL) -> np.ndarray:
    """A window's difference stacks [..., T, depth, S, S] -> [..., T]: a mask-free guess of where the action is.

    Each candidate's total |newest difference|, standardised within its window (median, standard deviation),
    then averaged over `smoothing` neighbouring candidates: a burst spans several candidates, while a bouncing
    ball or a shake residual lifts one (on the articulated family's training clips, 4 of 32 picks fall in the
    burst 52 % of the time smoothed, 45 % unsmoothed, 20 % at random). `counting` says how a pixel counts. With a
    threshold > 0 only by how far its |difference| exceeds the threshold x a baseline (medians over the candidates
    with a predecessor): the window's median |difference| ("window"), so sensor noise and small sway drop out and
    large limb motion stays; or the pixel's own median over the window ("pixel"), so what moves at a place all
    window long (a swaying distractor, noise on a textured spot) drops out and what moves there only for a while
    (the actor's burst, a passing ball) stays. With the "area" measure a candidate counts the pixels above the
    threshold by a margin instead of adding up their |differences|. A candidate without a predecessor (all-zero
    difference) scores -inf.
    """
    newest = np.abs(stacks[..., 0, :, :].astype(np.float32))
    no_predecessor = newest.sum(axis=(-2, -1)) == 0.0
    magnitude = _pooled(newest, counting.pooling)
    area = counting.measure == "area"
    floor = area and counting.noise_floor > 0
    margin = counting.noise_floor * _window_median(magnitude, no_predecessor) if floor else 0.0
    if counting.threshold > 0:
        baseline = (_pixel_medians(magnitude, no_predecessor) if counting.baseline == "pixel"
                    else _window_median(magnitude, no_predecessor))
        magnitude = np.maximum(magnitude - counting.threshold * baseline, 0.0)
    counted = (magnitude > margin).astype(np.float32) if area else magnitude
    energy = counted.sum(axis=(-2, -1))
    median = np.median(energy, axis=-1, keepdims=True)
    standardised = (np.where(no_predecessor, median, energy) - median) / (energy.std(axis=-1, keepdims=True) + 1e-6)
    half = smoothing // 2
    padded = np.pad(standardised, [(0, 0)] * (standardised.ndim - 1) + [(half, smoothing - 1 - half)], mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, smoothing, axis=-1)
    return np.where(no_predecessor, -np.inf, windows.mean(axis=-1)).astype(np.float32)


def energy_flops_per_window(steps: int, size: int, counting: PixelCounting) -> int:
    """Estimated FLOPs of one window's `window_motion_energy` over `steps` difference maps of `size` x `size`, which
    runs in numpy where torch's counter cannot see it. A pixel: its absolute value (1) and, with pooling, its share
    of a block's mean (1). A pooled pixel and step: with a threshold, its baseline (the window's median about 1, by
    partition; each pixel's own median about log2(steps) comparisons) and the subtraction and clipping (2); the
    area's noise floor (the window's median, 1) and comparison (1); the sum (1)."""
    pixels = steps * size * size
    pooled = steps * (size // counting.pooling) ** 2
    flops = pixels * (2 if counting.pooling > 1 else 1) + pooled
    if counting.threshold > 0:
        median = math.ceil(math.log2(max(steps, 2))) if counting.baseline == "pixel" else 1
        flops += pooled * (median + 2)
    if counting.measure == "area":
        flops += pooled * (2 if counting.noise_floor else 1)
    return flops


def _pooled(maps: np.ndarray, factor: int) -> np.ndarray:
    """[..., S, S] -> [..., S // factor, S // factor] block means (a last odd row or column is dropped)."""
    if factor == 1:
        return maps
    size = maps.shape[-1] // factor
    cropped = maps[..., :size * factor, :size * factor]
    return cropped.reshape(*maps.shape[:-2], size, factor, size, factor).mean(axis=(-3, -1))


def _pixel_medians(magnitude: np.ndarray, no_predecessor: np.ndarray) -> np.ndarray:
    """[..., T, S, S] |differences| -> [..., 1, S, S]: each pixel's median over its window's candidates with a
    predecessor (a window without any gets zeros)."""
    with_predecessor = np.where(no_predecessor[..., None, None], np.nan, magnitude)
    with warnings.catch_warnings():  # an all-NaN pixel (no candidate with a predecessor) is the zero baseline
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nan_to_num(np.nanmedian(with_predecessor, axis=-3, keepdims=True))


def _window_median(magnitude: np.ndarray, no_predecessor: np.ndarray) -> np.ndarray:
    """[..., T, S, S] |differences| -> [..., 1, 1, 1]: each window's median pixel over the candidates with a
    predecessor (the all-zero maps would pull it down)."""
    windows = magnitude.reshape(-1, *magnitude.shape[-3:])
    with_predecessor = ~no_predecessor.reshape(-1, magnitude.shape[-3])
    medians = np.array([np.median(window[kept]) if kept.any() else 0.0
                        for window, kept in zip(windows, with_predecessor, strict=True)], dtype=np.float32)
    return medians.reshape(*magnitude.shape[:-3], 1, 1, 1)


class MotionEncoder(nn.Module):
    """Difference stacks [N, depth, S, S] -> motion features [N, 2*width]: five strided conv blocks, then max
    and mean pooling over space (where in the frame the actor stands does not matter)."""

    def __init__(self, stack_depth: int, width: int = 96) -> None:
        super().__init__()
        channels = (stack_depth, 16, 32, 64, 64, width)
        strides = (2, 2, 2, 1, 2)
        self.blocks = nn.Sequential(*(
            nn.Sequential(nn.Conv2d(channels[i], channels[i + 1], 3, strides[i], 1),
                          nn.BatchNorm2d(channels[i + 1]), nn.ReLU())
            for i in range(len(strides))
        ))
        self.output_dim = 2 * width

    def forward(self, stacks: torch.Tensor) -> torch.Tensor:
        feature_map = self.blocks(stacks)
        return torch.cat([feature_map.amax(dim=(2, 3)), feature_map.mean(dim=(2, 3))], dim=1)
