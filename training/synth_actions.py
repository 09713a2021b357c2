"""The action kinds of the synthetic data set: one coloured, textured shape per class and its motion.

Every kind draws a distinct saturated colour, outline and texture, so one burst frame identifies the class
for an ImageNet CNN, while its motion (jump, slide, spin, pulse, grow, wave, ...) gives the clip a temporal
signature. Shapes are signed distance functions in the shape's own coordinates (units of the shape size),
rendered only inside their bounding box.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Largest distance from a shape's centre to its outline, in units of the shape size at scale 1; bounds the
# region each frame has to touch.
SHAPE_RADIUS = 0.72


@dataclass(frozen=True)
class Pose:
    """Where the shape is on one frame: centre in pixels, scale factor, rotation and animation phase."""

    centre_x: float
    centre_y: float
    scale: float = 1.0
    angle: float = 0.0
    phase: float = 0.0


@dataclass(frozen=True)
class MotionFrame:
    """What a motion needs to place its shape: the frame size, the shape size and a per-clip anchor."""

    width: int
    height: int
    size: float
    anchor_x: float
    anchor_y: float
    direction: float  # +1 or -1, drawn per clip


# (u, v) local coordinates in shape units, animation phase -> signed distance in shape units (< 0 inside).
ShapeFunction = Callable[[np.ndarray, np.ndarray, float], np.ndarray]
# (u, v) local coordinates, base colour RGB -> colour image [h, w, 3] float32.
TextureFunction = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
# progress through the burst in [0, 1], clip motion parameters -> pose.
MotionFunction = Callable[[float, MotionFrame], Pose]


@dataclass(frozen=True)
class ActionKind:
    """One class of the synthetic data set."""

    name: str
    colour: tuple[int, int, int]
    shape: ShapeFunction
    texture: TextureFunction
    motion: MotionFunction
    margin: float  # how far (in shape sizes) the anchor must stay from the frame border


_REGISTRY: dict[str, ActionKind] = {}


def register_action_kind(kind: ActionKind) -> ActionKind:
    if kind.name in _REGISTRY:
        raise ValueError(f"action kind {kind.name!r} is already registered")
    _REGISTRY[kind.name] = kind
    return kind


def action_kinds() -> list[ActionKind]:
    """Every registered kind in registration order; class index i of a data set is kind i."""
    return list(_REGISTRY.values())


# --- shapes -----------------------------------------------------------------------------------------------


def _box(u: np.ndarray, v: np.ndarray, half_u: float, half_v: float) -> np.ndarray:
    return np.maximum(np.abs(u) - half_u, np.abs(v) - half_v)


def _disc(u: np.ndarray, v: np.ndarray, _phase: float) -> np.ndarray:
    return np.sqrt(u * u + v * v) - 0.5


def _square(u: np.ndarray, v: np.ndarray, _phase: float) -> np.ndarray:
    return _box(u, v, 0.45, 0.45)


def _bar(u: np.ndarray, v: np.ndarray, _phase: float) -> np.ndarray:
    return _box(u, v, 0.6, 0.14)


def _triangle(u: np.ndarray, v: np.ndarray, _phase: float) -> np.ndarray:
    # Equilateral triangle pointing up, circumradius 0.62: the largest of its three edge half-plane distances.
    inradius = 0.31
    edge_a = v - inradius
    edge_b = -0.5 * v + 0.8660254 * u - inradius
    edge_c = -0.5 * v - 0.8660254 * u - inradius
    return np.maximum(np.maximum(edge_a, edge_b), edge_c)


def _ring(u: np.ndarray, v: np.ndarray, _phase: float) -> np.ndarray:
    return np.abs(np.sqrt(u * u + v * v) - 0.42) - 0.1


def _waving_flag(u: np.ndarray, v: np.ndarray, phase: float) -> np.ndarray:
    ripple = 0.07 * np.sin(2.0 * np.pi * (u / 0.6 - 3.0 * phase))
    return _box(u, v - ripple, 0.55, 0.36)


def _diamond(u: np.ndarray, v: np.ndarray, _phase: float) -> np.ndarray:
    return (np.abs(u) + np.abs(v) - 0.55) * 0.70710678


def _cross(u: np.ndarray, v: np.ndarray, _phase: float) -> np.ndarray:
    return np.minimum(_box(u, v, 0.5, 0.15), _box(u, v, 0.15, 0.5))


# --- textures ---------------------------------------------------------------------------------------------


def _solid(u: np.ndarray, v: np.ndarray, colour: np.ndarray) -> np.ndarray:
    return np.broadcast_to(colour, (*u.shape, 3))


def _radial_shading(u: np.ndarray, v: np.ndarray, colour: np.ndarray) -> np.ndarray:
    light = 1.15 - 0.5 * np.sqrt(u * u + v * v)
    return light[..., None] * colour


def _white_stripes(u: np.ndarray, v: np.ndarray, colour: np.ndarray) -> np.ndarray:
    stripe = np.floor(v / 0.15 + 0.5) % 2 == 0
    return np.where(stripe[..., None], colour, np.float32(235.0))


def _checker(u: np.ndarray, v: np.ndarray, colour: np.ndarray) -> np.ndarray:
    dark = (np.floor(u / 0.18) + np.floor(v / 0.18)) % 2 == 1
    return np.where(dark[..., None], np.float32(30.0), colour)


def _dotted(u: np.ndarray, v: np.ndarray, colour: np.ndarray) -> np.ndarray:
    cell_u = (u / 0.2) % 1.0 - 0.5
    cell_v = (v / 0.2) % 1.0 - 0.5
    dot = cell_u * cell_u + cell_v * cell_v < 0.09
    return np.where(dot[..., None], np.float32(245.0), colour)


def _outlined(u: np.ndarray, v: np.ndarray, colour: np.ndarray) -> np.ndarray:
    edge = _cross(u, v, 0.0) > -0.06
    return np.where(edge[..., None], np.float32(250.0), colour)


# --- motions ----------------------------------------------------------------------------------------------


def _jump(progress: float, frame: MotionFrame) -> Pose:
    lift = 0.28 * frame.height * abs(np.sin(2.0 * np.pi * progress))  # two hops
    return Pose(frame.anchor_x, frame.anchor_y + 0.14 * frame.height - lift)


def _slide(progress: float, frame: MotionFrame) -> Pose:
    travel = 0.5 * (frame.width - 1.6 * frame.size)
    return Pose(frame.width / 2 + frame.direction * travel * (progress - 0.5) * 2.0, frame.anchor_y)


def _spin(progress: float, frame: MotionFrame) -> Pose:
    return Pose(frame.anchor_x, frame.anchor_y, angle=frame.direction * 3.0 * np.pi * progress)


def _pulse(progress: float, frame: MotionFrame) -> Pose:
    return Pose(frame.anchor_x, frame.anchor_y, scale=1.0 + 0.15 * np.sin(6.0 * np.pi * progress))


def _grow(progress: float, frame: MotionFrame) -> Pose:
    return Pose(frame.anchor_x, frame.anchor_y, scale=0.75 + 0.5 * progress)


def _wave(progress: float, frame: MotionFrame) -> Pose:
    sway = 0.04 * frame.width * np.sin(2.0 * np.pi * progress)
    return Pose(frame.anchor_x + sway, frame.anchor_y, phase=progress)


def _zigzag(progress: float, frame: MotionFrame) -> Pose:
    travel = 0.5 * (frame.width - 1.6 * frame.size)
    zig = 1.0 - abs((4.0 * progress) % 2.0 - 1.0) * 2.0  # triangle wave in [-1, 1], two periods
    centre_x = frame.width / 2 + frame.direction * travel * (progress - 0.5) * 2.0
    return Pose(centre_x, frame.anchor_y + 0.12 * frame.height * zig)


def _orbit(progress: float, frame: MotionFrame) -> Pose:
    turn = frame.direction * 2.0 * np.pi * progress
    radius = 0.12 * frame.height
    return Pose(
        frame.anchor_x + radius * np.cos(turn),
        frame.anchor_y + radius * np.sin(turn),
        angle=0.5 * turn,
    )


register_action_kind(ActionKind("JumpingDisc", (225, 35, 30), _disc, _radial_shading, _jump, margin=0.8))
register_action_kind(ActionKind("SlidingSquare", (30, 70, 225), _square, _white_stripes, _slide, margin=0.8))
register_action_kind(ActionKind("SpinningBar", (30, 195, 60), _bar, _solid, _spin, margin=0.75))
register_action_kind(ActionKind("PulsingTriangle", (245, 215, 20), _triangle, _solid, _pulse, margin=0.8))
register_action_kind(ActionKind("GrowingRing", (225, 40, 205), _ring, _solid, _grow, margin=0.9))
register_action_kind(ActionKind("WavingFlag", (250, 140, 20), _waving_flag, _checker, _wave, margin=0.8))
register_action_kind(ActionKind("ZigzagDiamond", (20, 205, 225), _diamond, _dotted, _zigzag, margin=0.8))
register_action_kind(ActionKind("OrbitingCross", (140, 45, 235), _cross, _outlined, _orbit, margin=0.95))
