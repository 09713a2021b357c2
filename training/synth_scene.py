"""Procedural rendering of one synthetic clip: background, lighting drift, idle distractors, sensor noise
and the class-defining action during a short burst.

Speed matters (1080p30 camera feeds are rendered with this too), so everything that is the same on every
frame is computed once per clip: the background, one lit copy of it per quantised lighting level, and a small
bank of noise frames. A frame is then one copy, a few small blended regions and one uint8 add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from training.synth_actions import SHAPE_RADIUS, ActionKind, MotionFrame, Pose

# Every pixel value stays in [HEADROOM, 255 - HEADROOM] before noise, so signed noise of at most HEADROOM
# can be added with wrap-around uint8 arithmetic (no widening, no clipping pass over the frame).
HEADROOM = 8
# Lighting levels are quantised so that one lit background per level can be cached for the whole clip.
_GAIN_STEPS = 64
# Noise frames are drawn a few rows taller than the video; a frame uses a contiguous window at one of these
# row offsets, upright or flipped vertically (a horizontal flip would make the add several times slower).
_NOISE_ROW_OFFSETS = 16


@dataclass(frozen=True)
class NoiseBank:
    """A few frames of signed sensor noise (int8 stored as uint8), reused at row offsets and flipped."""

    frames: np.ndarray  # uint8 [K, H + offsets - 1, W, 3] holding int8 values
    height: int

    @classmethod
    def draw(cls, rng: np.random.Generator, width: int, height: int, count: int = 3) -> NoiseBank:
        amplitude = int(rng.integers(2, HEADROOM + 1))
        shape = (count, height + _NOISE_ROW_OFFSETS - 1, width, 3)
        noise = rng.integers(-amplitude, amplitude + 1, size=shape, dtype=np.int8)
        return cls(noise.view(np.uint8), height)

    @property
    def variants(self) -> int:
        return len(self.frames) * _NOISE_ROW_OFFSETS * 2

    def variant(self, index: int) -> np.ndarray:
        frame_index, rest = divmod(index, _NOISE_ROW_OFFSETS * 2)
        offset, flip = divmod(rest, 2)
        rows = self.frames[frame_index, offset : offset + self.height]
        return rows[::-1] if flip else rows


def _muted_colours(rng: np.random.Generator, count: int) -> np.ndarray:
    """Desaturated colours, so that the saturated action shapes stand out from any background."""
    colours = rng.uniform(40.0, 215.0, size=(count, 3)).astype(np.float32)
    grey = colours.mean(axis=1, keepdims=True)
    saturation = rng.uniform(0.15, 0.5, size=(count, 1)).astype(np.float32)
    return grey + (colours - grey) * saturation


def _background_texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A greyscale pattern [H, W] around zero: soft clouds, stripes or tiles."""
    pattern = rng.choice(("clouds", "stripes", "tiles"))
    if pattern == "clouds":
        grid = rng.uniform(-1.0, 1.0, size=(int(rng.integers(3, 9)), int(rng.integers(3, 9))))
        image = Image.fromarray(grid.astype(np.float32), mode="F").resize((width, height), Image.Resampling.BICUBIC)
        return np.asarray(image, dtype=np.float32) * np.float32(rng.uniform(10.0, 35.0))
    ys = np.arange(height, dtype=np.float32)[:, None]
    xs = np.arange(width, dtype=np.float32)[None, :]
    if pattern == "stripes":
        angle = rng.uniform(0.0, np.pi)
        period = rng.uniform(0.05, 0.25) * height
        phase = (xs * np.float32(np.cos(angle)) + ys * np.float32(np.sin(angle))) / np.float32(period)
        return np.sin(np.float32(2.0 * np.pi) * phase) * np.float32(rng.uniform(5.0, 15.0))
    tile = rng.uniform(0.08, 0.2) * height
    checker = (np.floor(xs / tile) + np.floor(ys / tile)) % 2
    return (checker.astype(np.float32) - 0.5) * np.float32(rng.uniform(8.0, 24.0))


def draw_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A random muted gradient with a texture, uint8 [H, W, 3] within the noise headroom."""
    start, end = _muted_colours(rng, 2)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    ramp = xs * np.float32(np.cos(angle)) + ys * np.float32(np.sin(angle))
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    image = start + ramp[..., None] * (end - start)
    tint = rng.uniform(0.8, 1.2, size=3).astype(np.float32)
    image += _background_texture(rng, width, height)[..., None] * tint
    return np.clip(image, HEADROOM, 255 - HEADROOM).astype(np.uint8)


def _blend(frame: np.ndarray, box: tuple[int, int, int, int], alpha: np.ndarray, colour: np.ndarray) -> None:
    """Alpha-blend `colour` (RGB or an image of the box) into the box of `frame`, in place."""
    top, bottom, left, right = box
    region = frame[top:bottom, left:right]
    mixed = region + alpha[..., None] * (colour - region)
    np.copyto(region, mixed, casting="unsafe")


def _box_around(
    centre_x: float, centre_y: float, radius: float, width: int, height: int
) -> tuple[int, int, int, int]:
    return (
        max(0, int(centre_y - radius)),
        min(height, int(centre_y + radius) + 2),
        max(0, int(centre_x - radius)),
        min(width, int(centre_x + radius) + 2),
    )


class _Blob:
    """A soft grey blob drifting through the scene: motion with no class information, in every clip."""

    def __init__(self, rng: np.random.Generator, width: int, height: int, num_frames: int) -> None:
        drift = rng.uniform(0.2, 0.6) * width / max(num_frames, 1)
        heading = rng.uniform(0.0, 2.0 * np.pi)
        self._start = (rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height)
        self._velocity = (drift * np.cos(heading), 0.5 * drift * np.sin(heading))
        self._wobble = rng.uniform(0.0, 0.05) * height
        self._wobble_rate = rng.uniform(0.05, 0.3)
        self._grey = np.float32(rng.uniform(60.0, 200.0)) + rng.uniform(-8.0, 8.0, size=3).astype(np.float32)
        # The blob's look never changes, so its alpha sprite is computed once; it moves in whole pixels.
        sigma = rng.uniform(0.05, 0.09) * height
        self._radius = int(2.5 * sigma)
        offsets = np.arange(-self._radius, self._radius + 1, dtype=np.float32)
        squared = offsets[:, None] ** 2 + offsets[None, :] ** 2
        self._sprite = np.float32(0.8) * np.exp(squared * np.float32(-0.5 / sigma**2))

    def render(self, frame: np.ndarray, index: int, gain: float) -> None:
        height, width = frame.shape[:2]
        centre_x = round(self._start[0] + self._velocity[0] * index)
        centre_y = round(
            self._start[1] + self._velocity[1] * index + self._wobble * np.sin(self._wobble_rate * index)
        )
        top, left = centre_y - self._radius, centre_x - self._radius
        size = len(self._sprite)
        box = (max(top, 0), min(top + size, height), max(left, 0), min(left + size, width))
        if box[0] >= box[1] or box[2] >= box[3]:
            return
        alpha = self._sprite[box[0] - top : box[1] - top, box[2] - left : box[3] - left]
        _blend(frame, box, alpha, np.clip(self._grey * np.float32(gain), HEADROOM, 255 - HEADROOM))


class ClipScene:
    """The random script of one clip; `render_into(i, out)` draws frame i (a pure function of i).

    `kind` None is an idle clip: the same scene, blobs, lighting and noise, no action (an empty burst)."""

    def __init__(
        self,
        kind: ActionKind | None,
        *,
        width: int,
        height: int,
        fps: float,
        num_frames: int,
        burst_fraction: tuple[float, float],
        rng: np.random.Generator,
        noise: NoiseBank | None = None,
        background: np.ndarray | None = None,
    ) -> None:
        self.kind = kind
        self.width, self.height, self.num_frames = width, height, num_frames
        burst_length = int(np.clip(round(num_frames * rng.uniform(*burst_fraction)), 1, num_frames))
        burst_start = int(rng.integers(0, num_frames - burst_length + 1))
        self.burst = (burst_start, burst_start + burst_length) if kind is not None else (0, 0)

        # Drawn even when replaced, so a clip's script (burst, blobs, action) does not depend on its background.
        drawn = draw_background(rng, width, height)
        self._background = drawn if background is None else background
        self._lit_backgrounds: dict[int, np.ndarray] = {}
        self._gain_levels = self._lighting_drift(rng, fps)
        self._blobs = [_Blob(rng, width, height, num_frames) for _ in range(int(rng.integers(1, 3)))]
        self._noise = noise if noise is not None else NoiseBank.draw(rng, width, height)
        self._noise_choice = rng.integers(0, self._noise.variants, size=num_frames)

        self._size = height * rng.uniform(0.26, 0.34)
        jitter = rng.integers(-20, 21, size=3)
        colour, margin = (kind.colour, kind.margin) if kind is not None else ((128, 128, 128), 0.0)
        self._colour = np.clip(np.asarray(colour) + jitter, HEADROOM, 255 - HEADROOM).astype(np.float32)
        reach = margin * self._size + 0.14 * height  # shape radius plus the widest motion excursion
        self._motion = MotionFrame(
            width=width,
            height=height,
            size=self._size,
            anchor_x=rng.uniform(min(reach, width / 2), max(width - reach, width / 2)),
            anchor_y=rng.uniform(min(reach, height / 2), max(height - reach, height / 2)),
            direction=float(rng.choice((-1.0, 1.0))),
        )

    @property
    def mask(self) -> np.ndarray:
        mask = np.zeros(self.num_frames, dtype=bool)
        mask[self.burst[0] : self.burst[1]] = True
        return mask

    def _lighting_drift(self, rng: np.random.Generator, fps: float) -> np.ndarray:
        """Slow global exposure changes: a sinusoid plus a ramp, quantised to cacheable levels."""
        seconds = np.arange(self.num_frames) / fps
        gain = (
            1.0
            + rng.uniform(0.02, 0.08) * np.sin(2.0 * np.pi * rng.uniform(0.1, 0.5) * seconds + rng.uniform(0, 6.3))
            + rng.uniform(-0.03, 0.03) * (seconds - seconds.mean())
        )
        return np.rint(gain * _GAIN_STEPS).astype(np.int64)

    def _lit_background(self, level: int) -> np.ndarray:
        cached = self._lit_backgrounds.get(level)
        if cached is None:
            lookup = np.clip(np.rint(np.arange(256) * (level / _GAIN_STEPS)), HEADROOM, 255 - HEADROOM)
            cached = self._lit_backgrounds[level] = lookup.astype(np.uint8)[self._background]
        return cached

    def render_into(self, index: int, out: np.ndarray) -> None:
        level = int(self._gain_levels[index])
        gain = level / _GAIN_STEPS
        np.copyto(out, self._lit_background(level))
        for blob in self._blobs:
            blob.render(out, index, gain)
        start, end = self.burst
        if self.kind is not None and start <= index < end:
            progress = (index - start) / max(end - start - 1, 1)
            self._render_action(self.kind, out, self.kind.motion(progress, self._motion), gain)
        np.add(out, self._noise.variant(int(self._noise_choice[index])), out=out)

    def _render_action(self, kind: ActionKind, frame: np.ndarray, pose: Pose, gain: float) -> None:
        scale_px = self._size * pose.scale
        top, bottom, left, right = box = _box_around(
            pose.centre_x, pose.centre_y, SHAPE_RADIUS * scale_px + 1.0, self.width, self.height
        )
        if top >= bottom or left >= right:
            return
        dy = (np.arange(top, bottom, dtype=np.float32) - np.float32(pose.centre_y))[:, None]
        dx = (np.arange(left, right, dtype=np.float32) - np.float32(pose.centre_x))[None, :]
        cos, sin = np.float32(np.cos(pose.angle) / scale_px), np.float32(np.sin(pose.angle) / scale_px)
        u = dx * cos + dy * sin
        v = dy * cos - dx * sin
        # One pixel of anti-aliasing along the outline.
        alpha = np.clip(np.float32(0.5) - kind.shape(u, v, pose.phase) * np.float32(scale_px), 0.0, 1.0)
        colour = kind.texture(u, v, self._colour * np.float32(gain))
        _blend(frame, box, alpha, np.clip(colour, HEADROOM, 255 - HEADROOM))
