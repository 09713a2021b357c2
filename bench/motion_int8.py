"""int8 beside fp32 for one trained motion CNN (`bench selection --recipe motion-energy --int8`).

The model is exported to ONNX, quantised (`models.motion_export`, calibrated on training clips' stacks only), and
compared with fp32 on the bench clips: the per-frame top-1 agreement of the head, and the speed of ONNX Runtime
int8 over ONNX Runtime fp32 in CPU time on the bench windows (a window's T stacks per call, as SMART scores
them), the two sessions taking turns so each pair of turns sees the same load on this shared machine. The int8
model comes back behind the torch interface, with its own encoder features beside its logits, so the bench scores
its strategies, the learned selector's SMART included, with the recipe's own code.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from bench.encoder import paired_speedup, paired_spread
from models.motion_export import (
    MOTION_INT8_ONNX,
    MOTION_ONNX,
    MotionInt8Settings,
    OnnxMotionModel,
    calibration_stacks,
    export_motion_onnx,
    quantize_motion_int8,
)
from training.motion_energy import frame_probabilities

logger = logging.getLogger(__name__)


class MotionInt8BenchSettings(BaseModel):
    """How the int8 copy is made and timed."""

    model_config = ConfigDict(frozen=True)

    threads: int = Field(1, ge=1, description="Intra-op threads of each ONNX Runtime session (the workers' setting).")
    repeats: int = Field(7, ge=1, description="Paired timing turns (fp32 then int8); the median ratio is reported.")
    timed_clips: int = Field(16, ge=1, description="Bench windows each timing turn runs.")
    quantization: MotionInt8Settings = Field(default_factory=MotionInt8Settings, description="Calibration and "
                                             "quantisation of the int8 copy.")


@dataclass(frozen=True)
class Int8Comparison:
    int8_model: OnnxMotionModel
    top1_agreement: float  # share of bench candidates whose int8 top class is fp32's
    cpu_speedup: float  # median over turns of fp32 CPU time / int8 CPU time
    cpu_speedup_range: list[float]  # lowest and highest turn
    calibration_frames: int  # training stacks the ranges were calibrated on


def paired_cpu_seconds(models: dict[str, OnnxMotionModel], windows: np.ndarray, repeats: int) -> dict[str, list[float]]:
    """CPU seconds per turn over `windows` [W,T,depth,S,S] for each model, the models taking turns in each repeat."""
    for model in models.values():
        model.run(windows[0])  # warm-up: allocations and lazy initialisation
    seconds: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            started = time.process_time()
            for window in windows:
                model.run(window)
            seconds[name].append(time.process_time() - started)
    return seconds


def compare_int8(model: nn.Sequential, train_stacks: np.ndarray, bench_stacks: np.ndarray, work_dir: Path,
                 settings: MotionInt8BenchSettings) -> Int8Comparison:
    """Export `model`, quantise it on `train_stacks`, and measure int8 against fp32 on `bench_stacks`."""
    depth, size = bench_stacks.shape[2], bench_stacks.shape[3]
    fp32_path = export_motion_onnx(model, work_dir / MOTION_ONNX, depth, size)
    calibration = calibration_stacks(train_stacks, settings.quantization.calibration_frames,
                                     settings.quantization.seed)
    int8_path = quantize_motion_int8(fp32_path, work_dir / MOTION_INT8_ONNX, calibration, settings.quantization)
    sessions = {"fp32": OnnxMotionModel(fp32_path, settings.threads), "int8": OnnxMotionModel(int8_path,
                                                                                              settings.threads)}
    reference = frame_probabilities(model, bench_stacks).argmax(dim=-1)
    agreement = float((frame_probabilities(sessions["int8"], bench_stacks).argmax(dim=-1) == reference)
                      .float().mean())
    windows = bench_stacks[:settings.timed_clips].astype(np.float32)
    seconds = paired_cpu_seconds(sessions, windows, settings.repeats)
    return Int8Comparison(sessions["int8"], agreement, paired_speedup(seconds, "fp32", "int8"),
                          paired_spread(seconds, "fp32", "int8"), len(calibration))
