"""The second synthetic family, `articulated`: stick-figure actors whose classes differ in motion.

Frozen specification (version 1; `ARTICULATED_SPEC` and tests/unit/training/test_synth_articulated.py pin it,
so results on this family stay comparable; a change is a new family, not an edit):
- Actor: a jointed stick figure (head, textured striped torso, two-segment arms and legs) whose colours are
  drawn per clip, never per class, so a class is told by its motion, not by its look.
- Eight classes, each a joint-angle motion at a per-clip tempo: wave (one forearm), clap (both arms meet),
  jump (whole body up), squat (knees bend), kick (one leg swings), march (knees alternate), reach (both arms
  raised and lowered), windmill (both arms circle).
- Bursts: 1 to 3 bursts of the same action per clip, together 10-30 % of the frames (each at least 2 frames);
  outside them the actor stands with a small idle sway, so idle frames show the same figure.
- Distractors in every frame: 1-2 other stick figures swaying idly, 2-4 bouncing balls, a static clutter of
  20-40 rectangles and ellipses over a gradient, camera shake (a random walk of up to 6 px plus 1 px jitter),
  slow lighting drift (+-8 %) and Gaussian sensor noise (sigma 2-6).
The truth mask marks the burst frames; it is for scoring only, training never reads it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict

ARTICULATED_CLASSES = ("Wave", "Clap", "Jump", "Squat", "Kick", "March", "Reach", "Windmill")


class ArticulatedSpec(BaseModel):
    """The frozen parameters of the articulated family (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    version: int = 1
    classes: tuple[str, ...] = ARTICULATED_CLASSES
    bursts: tuple[int, int] = (1, 3)
    burst_fraction: tuple[float, float] = (0.10, 0.30)
    min_burst_frames: int = 2
    distractor_figures: tuple[int, int] = (1, 2)
    balls: tuple[int, int] = (2, 4)
    clutter_shapes: tuple[int, int] = (20, 40)
    shake_walk_px: float = 6.0
    shake_jitter_px: float = 1.0
    lighting_drift: float = 0.08
    noise_sigma: tuple[float, float] = (2.0, 6.0)
    tempo_hz: tuple[float, float] = (1.0, 2.0)


ARTICULATED_SPEC = ArticulatedSpec()


@dataclass
class Joints:
    """Angles in radians from straight down (arms, thighs) or from the parent segment (elbows, knees);
    positive angles turn a right limb outwards (to the figure's side) and a left limb likewise mirrored."""

    shoulder_right: float = 0.15
    shoulder_left: float = 0.15
    elbow_right: float = 0.1
    elbow_left: float = 0.1
    hip_right: float = 0.08
    hip_left: float = 0.08
    knee_right: float = 0.0
    knee_left: float = 0.0
    lift: float = 0.0  # body raised (> 0) or lowered (< 0), in body heights
    crouch: float = 0.0  # share of leg length folded at the knees, lowers the hips


# wave phase (radians, runs at the clip's tempo), joints to change in place
Motion = Callable[[float, Joints], None]


def _wave(phase: float, joints: Joints) -> None:
    joints.shoulder_right = 2.5
    joints.elbow_right = 0.7 * math.sin(phase)


def _clap(phase: float, joints: Joints) -> None:
    opening = 0.5 * (1.0 + math.sin(phase))
    joints.shoulder_right = joints.shoulder_left = 1.2 + 0.3 * opening
    joints.elbow_right = joints.elbow_left = -(1.4 - 0.9 * opening)


def _jump(phase: float, joints: Joints) -> None:
    height = abs(math.sin(phase / 2.0))
    joints.lift = 0.25 * height
    joints.knee_right = joints.knee_left = 0.6 * (1.0 - height)
    joints.shoulder_right = joints.shoulder_left = 0.4 + 0.8 * height


def _squat(phase: float, joints: Joints) -> None:
    depth = 0.5 * (1.0 - math.cos(phase / 2.0))
    joints.crouch = 0.45 * depth
    joints.shoulder_right = joints.shoulder_left = 0.15 + 1.3 * depth


def _kick(phase: float, joints: Joints) -> None:
    swing = max(0.0, math.sin(phase))
    joints.hip_right = -1.3 * swing
    joints.knee_right = 0.9 * (1.0 - swing) * swing


def _march(phase: float, joints: Joints) -> None:
    step = math.sin(phase)
    joints.hip_right, joints.hip_left = -0.9 * max(step, 0.0), -0.9 * max(-step, 0.0)
    joints.knee_right, joints.knee_left = 1.4 * max(step, 0.0), 1.4 * max(-step, 0.0)
    joints.shoulder_right, joints.shoulder_left = 0.4 * step, -0.4 * step


def _reach(phase: float, joints: Joints) -> None:
    raised = 0.5 * (1.0 - math.cos(phase / 2.0))
    joints.shoulder_right = joints.shoulder_left = 0.15 + 2.75 * raised


def _windmill(phase: float, joints: Joints) -> None:
    joints.shoulder_right = phase
    joints.shoulder_left = phase + math.pi
    joints.elbow_right = joints.elbow_left = 0.0


MOTIONS: dict[str, Motion] = {
    "Wave": _wave, "Clap": _clap, "Jump": _jump, "Squat": _squat, "Kick": _kick, "March": _march,
    "Reach": _reach, "Windmill": _windmill,
}


def _idle_sway(phase: float, amplitude: float, joints: Joints) -> None:
    joints.shoulder_right += amplitude * math.sin(phase)
    joints.shoulder_left += amplitude * math.sin(phase + 1.3)
    joints.elbow_right += 0.5 * amplitude * math.sin(0.7 * phase)


class _Figure:
    """One stick figure: where it stands, its size, colours and idle sway; drawn from a pose."""

    def __init__(self, rng: np.random.Generator, width: int, height: int, scale: tuple[float, float]) -> None:
        self.size = height * rng.uniform(*scale)  # body height in pixels
        self.x = rng.uniform(0.2, 0.8) * width
        self.y = rng.uniform(0.55, 0.75) * height  # hip height
        self.limb_colour = tuple(int(value) for value in rng.integers(30, 226, size=3))
        self.stripe_colours = [tuple(int(value) for value in rng.integers(30, 226, size=3)) for _ in range(2)]
        self.sway_rate = rng.uniform(0.5, 1.5)  # radians per frame at 25 fps scaled below
        self.sway_amplitude = rng.uniform(0.05, 0.2)
        self.sway_phase = rng.uniform(0.0, 2.0 * math.pi)

    def idle_joints(self, seconds: float) -> Joints:
        joints = Joints()
        _idle_sway(self.sway_phase + 2.0 * math.pi * 0.3 * self.sway_rate * seconds, self.sway_amplitude, joints)
        return joints

    def draw(self, draw: ImageDraw.ImageDraw, joints: Joints, offset: tuple[float, float]) -> None:
        unit = self.size
        thickness = max(2, round(0.06 * unit))
        leg, thigh_share = 0.45 * unit, 0.5
        hip_x = self.x + offset[0]
        hip_y = self.y + offset[1] - joints.lift * unit + joints.crouch * leg
        neck_y = hip_y - 0.4 * unit
        for side, sign in (("right", 1.0), ("left", -1.0)):
            hip_angle, knee_angle = getattr(joints, f"hip_{side}"), getattr(joints, f"knee_{side}")
            knee = _limb_end((hip_x, hip_y), thigh_share * leg, sign * hip_angle)
            # A crouch folds the knee outwards so the feet stay on the ground line.
            foot = _limb_end(knee, (1 - thigh_share) * leg, sign * (hip_angle - knee_angle - 2.0 * joints.crouch))
            draw.line([(hip_x, hip_y), knee, foot], fill=self.limb_colour, width=thickness, joint="curve")
            shoulder_angle, elbow_angle = getattr(joints, f"shoulder_{side}"), getattr(joints, f"elbow_{side}")
            shoulder = (hip_x + sign * 0.12 * unit, neck_y)
            elbow = _limb_end(shoulder, 0.17 * unit, sign * shoulder_angle)
            hand = _limb_end(elbow, 0.17 * unit, sign * (shoulder_angle + elbow_angle))
            draw.line([shoulder, elbow, hand], fill=self.limb_colour, width=thickness, joint="curve")
        # Striped torso: the texture moves with the body.
        half_width, stripes = 0.12 * unit, 4
        for stripe in range(stripes):
            top = neck_y + (hip_y - neck_y) * stripe / stripes
            bottom = neck_y + (hip_y - neck_y) * (stripe + 1) / stripes
            draw.rectangle([hip_x - half_width, top, hip_x + half_width, bottom],
                           fill=self.stripe_colours[stripe % 2])
        radius = 0.09 * unit
        draw.ellipse([hip_x - radius, neck_y - 2.2 * radius, hip_x + radius, neck_y - 0.2 * radius],
                     fill=self.limb_colour)


def _limb_end(start: tuple[float, float], length: float, angle: float) -> tuple[float, float]:
    return start[0] + length * math.sin(angle), start[1] + length * math.cos(angle)


def _burst_spans(rng: np.random.Generator, num_frames: int, spec: ArticulatedSpec) -> list[tuple[int, int]]:
    """1-3 disjoint [start, end) spans covering 10-30 % of the frames together, each >= min_burst_frames."""
    count = int(rng.integers(spec.bursts[0], spec.bursts[1] + 1))
    total = max(round(num_frames * rng.uniform(*spec.burst_fraction)), spec.min_burst_frames)
    count = max(1, min(count, total // spec.min_burst_frames))
    cuts = np.sort(rng.choice(np.arange(1, total), size=count - 1, replace=False)) if count > 1 else np.array([])
    lengths = np.diff(np.concatenate([[0], cuts, [total]])).astype(int)
    lengths = np.maximum(lengths, spec.min_burst_frames)
    idle = num_frames - int(lengths.sum())
    # Idle frames are split at random into count + 1 gaps (outer gaps may be empty, inner ones hold >= 1).
    inner = count - 1
    free = max(idle - inner, 0)
    weights = rng.dirichlet(np.ones(count + 1))
    gaps = np.floor(weights * free).astype(int)
    gaps[1:count] += 1
    spans, position = [], int(gaps[0])
    for index, length in enumerate(lengths):
        spans.append((position, min(position + int(length), num_frames)))
        position += int(length) + int(gaps[index + 1])
    return spans


class ArticulatedScene:
    """The random script of one articulated clip; `render_into(i, out)` draws frame i (a pure function of i).

    `class_index` None is an idle clip: the same actor and distractors, no burst."""

    def __init__(
        self, class_index: int | None, *, width: int, height: int, fps: float, num_frames: int,
        rng: np.random.Generator, spec: ArticulatedSpec = ARTICULATED_SPEC,
    ) -> None:
        self.width, self.height, self.fps, self.num_frames = width, height, fps, num_frames
        self.motion = MOTIONS[spec.classes[class_index]] if class_index is not None else None
        self.spans = _burst_spans(rng, num_frames, spec) if class_index is not None else []
        self.burst = (self.spans[0][0], self.spans[-1][1]) if self.spans else (0, 0)
        self._margin = math.ceil(spec.shake_walk_px + spec.shake_jitter_px) + 1
        self._background = self._draw_clutter(rng, spec)
        self.actor = _Figure(rng, width, height, (0.38, 0.5))
        self._distractors = [_Figure(rng, width, height, (0.25, 0.4))
                             for _ in range(int(rng.integers(spec.distractor_figures[0],
                                                             spec.distractor_figures[1] + 1)))]
        self._balls = [self._draw_ball(rng) for _ in range(int(rng.integers(spec.balls[0], spec.balls[1] + 1)))]
        self._tempo = rng.uniform(*spec.tempo_hz)
        walk = np.cumsum(rng.normal(0.0, 1.0, size=(num_frames, 2)), axis=0)
        walk *= spec.shake_walk_px / max(float(np.abs(walk).max()), 1e-6)
        self._shake = walk + rng.uniform(-spec.shake_jitter_px, spec.shake_jitter_px, size=(num_frames, 2))
        seconds = np.arange(num_frames) / fps
        self._gain = 1.0 + spec.lighting_drift * np.sin(2.0 * np.pi * rng.uniform(0.05, 0.3) * seconds
                                                        + rng.uniform(0.0, 2.0 * np.pi))
        self._noise_sigma = rng.uniform(*spec.noise_sigma)
        self._noise_seed = int(rng.integers(0, 2**31))

    @property
    def mask(self) -> np.ndarray:
        mask = np.zeros(self.num_frames, dtype=bool)
        for start, end in self.spans:
            mask[start:end] = True
        return mask

    def _draw_clutter(self, rng: np.random.Generator, spec: ArticulatedSpec) -> Image.Image:
        """A gradient with static clutter, larger than the frame by the shake margin on each side."""
        width, height = self.width + 2 * self._margin, self.height + 2 * self._margin
        start, end = rng.uniform(40.0, 200.0, size=(2, 3))
        ramp = np.linspace(0.0, 1.0, height)[:, None, None]
        image = Image.fromarray(np.broadcast_to(start + ramp * (end - start), (height, width, 3)).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(int(rng.integers(spec.clutter_shapes[0], spec.clutter_shapes[1] + 1))):
            x, y = rng.uniform(0, width), rng.uniform(0, height)
            w, h = rng.uniform(0.03, 0.2) * width, rng.uniform(0.03, 0.2) * height
            colour = tuple(int(value) for value in rng.integers(20, 236, size=3))
            shape = draw.rectangle if rng.random() < 0.5 else draw.ellipse
            shape([x, y, x + w, y + h], fill=colour)
        return image

    def _draw_ball(self, rng: np.random.Generator) -> tuple[float, float, float, float, float, tuple[int, ...]]:
        radius = rng.uniform(0.02, 0.05) * self.height
        return (rng.uniform(0, self.width), rng.uniform(0, self.height), rng.uniform(-3.0, 3.0),
                rng.uniform(-3.0, 3.0), radius, tuple(int(value) for value in rng.integers(20, 236, size=3)))

    def _actor_joints(self, index: int) -> Joints:
        seconds = index / self.fps
        for start, end in self.spans:
            if self.motion is not None and start <= index < end:
                joints = Joints()
                self.motion(2.0 * math.pi * self._tempo * (index - start) / self.fps, joints)
                return joints
        return self.actor.idle_joints(seconds)

    def render_into(self, index: int, out: np.ndarray) -> None:
        image = self._background.copy()
        draw = ImageDraw.Draw(image)
        offset = (float(self._margin), float(self._margin))
        for x, y, vx, vy, radius, colour in self._balls:
            # Bouncing inside the frame: a triangle wave per axis.
            bx = _bounce(x + vx * index, self.width) + offset[0]
            by = _bounce(y + vy * index, self.height) + offset[1]
            draw.ellipse([bx - radius, by - radius, bx + radius, by + radius], fill=colour)
        for figure in self._distractors:
            figure.draw(draw, figure.idle_joints(index / self.fps), offset)
        self.actor.draw(draw, self._actor_joints(index), offset)
        dx, dy = (round(value) for value in self._shake[index])
        left, top = self._margin + dx, self._margin + dy
        frame = np.asarray(image, dtype=np.float32)[top : top + self.height, left : left + self.width]
        noise = np.random.default_rng([self._noise_seed, index]).normal(0.0, self._noise_sigma, size=frame.shape)
        np.copyto(out, np.clip(frame * self._gain[index] + noise, 0, 255), casting="unsafe")


def _bounce(position: float, extent: float) -> float:
    period = 2.0 * extent
    folded = position % period
    return folded if folded <= extent else period - folded
