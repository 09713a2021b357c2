"""Calibration frames for the int8 encoder: training-video frames plus varied synthetic generator frames.

Rendered in memory from a fixed seed (no files, no downloads), so the same settings give the same int8 model.
Every action kind, several frame sizes and burst lengths (idle and action frames) widen the activation ranges
the quantiser sees beyond one data set's scenes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from models.preprocessing import Preprocessing
from models.quantization import Int8Settings, quantize_encoder_int8
from training.features import calibration_images
from training.smart_settings import FeatureSettings
from training.synth import SynthSettings, build_scene
from training.synth_actions import action_kinds
from training.ucf101 import VideoItem


class CalibrationSettings(BaseModel):
    """Which frames calibrate the int8 encoder."""

    model_config = ConfigDict(frozen=True)

    synthetic_frames: int = Field(256, ge=0, description="Generator frames rendered in memory for calibration.")
    frames_per_clip: int = Field(8, ge=1, description="Frames taken from each rendered clip, spread over it.")
    sizes: tuple[tuple[int, int], ...] = Field(
        ((320, 240), (640, 360), (256, 256)), description="Frame sizes (width, height) cycled over the clips."
    )
    seed: int = Field(20_000, description="Generator seed, far from the training (0) and bench (1000) sets.")


def synthetic_calibration_frames(settings: CalibrationSettings) -> list[np.ndarray]:
    """uint8 RGB frames [H,W,3] of mixed sizes, spread over clips of every action kind."""
    rng = np.random.default_rng(settings.seed)
    kinds = len(action_kinds())
    frames: list[np.ndarray] = []
    clip = 0
    while len(frames) < settings.synthetic_frames:
        width, height = settings.sizes[clip % len(settings.sizes)]
        synth = SynthSettings(num_classes=kinds, width=width, height=height, fps=8.0, seconds=4.0,
                              burst_fraction=(0.2, 0.8), seed=settings.seed)
        scene = build_scene(clip % kinds, synth, rng)
        picks = np.linspace(0, scene.num_frames - 1, settings.frames_per_clip).round().astype(int)
        for index in picks:
            frame = np.empty((height, width, 3), dtype=np.uint8)
            scene.render_into(int(index), frame)
            frames.append(frame)
        clip += 1
    return frames[: settings.synthetic_frames]


def int8_calibration_images(
    preprocessing: Preprocessing,
    settings: CalibrationSettings,
    items: list[VideoItem] | None = None,
    features: FeatureSettings | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Preprocessed calibration images: synthetic generator frames, then training-video frames when given."""
    images = [preprocessing(frame)[0] for frame in synthetic_calibration_frames(settings)]
    if items:
        images.extend(calibration_images(items, features or FeatureSettings(), preprocessing, seed))
    if not images:
        raise ValueError("no calibration frames: set synthetic_frames > 0 or pass training videos")
    return np.stack(images)


def build_int8_encoder(
    fp32_path: Path,
    int8_path: Path,
    preprocessing: Preprocessing,
    items: list[VideoItem] | None = None,
    features: FeatureSettings | None = None,
    seed: int = 0,
    calibration: CalibrationSettings | None = None,
    int8: Int8Settings | None = None,
) -> Path:
    """The one int8 recipe behind training bundles and `export --backend onnx-int8`: same inputs, same model."""
    images = int8_calibration_images(preprocessing, calibration or CalibrationSettings(), items, features, seed)
    return quantize_encoder_int8(fp32_path, int8_path, images, int8)
