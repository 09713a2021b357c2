"""ONNX export of the motion CNN with its head (`training.motion_energy`), and its static int8 copy.

The int8 copy follows the encoder's recipe (`models.quantization`): QDQ, per-channel symmetric int8 weights,
uint8 activations with 99.99th-percentile ranges, each ReLU fused into its convolution's output range. The first
convolution (3 input channels of raw differences, 7 % of the FLOPs) and the linear head stay fp32. Calibration
reads training clips' difference stacks only, never the clips it is measured on.

Chosen on the articulated family's training clips (seed-0 model; 512 calibration stacks from the even clips,
per-frame top-1 agreement with fp32 on the odd clips' 3,072 candidates; CPU speed-up over ONNX Runtime fp32 at
one thread, 5 paired turns): every convolution int8 0.966 at 1.48x; the first one fp32 0.983 at 2.04x (its
int8 form, 3 channels wide, is slower than fp32, and the differences' heavy tails cost the most in 8 bits);
from there, MinMax ranges 0.924, the 99.9th percentile 0.936, entropy 0.923, per-tensor weights 0.978, the head
int8 too 0.975, 2,048 calibration stacks 0.981.

The graph gives the head's input (the encoder's features) beside the logits, so the learned selector
(`training.evidence_selector`) reads an exported copy's own features. `OnnxMotionModel` runs an exported model
behind the torch interface the recipe scores with, so fp32 and int8 are scored by the same code
(`training.motion_energy.score_clips`, `smart_scores`).
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from models.quantization import Int8Settings, quantize_static_qdq

if TYPE_CHECKING:
    import onnxruntime as ort

logger = logging.getLogger(__name__)

MOTION_ONNX = "motion.onnx"
MOTION_INT8_ONNX = "motion.int8.onnx"
MOTION_INPUT_NAME = "stacks"
MOTION_OUTPUT_NAME = "logits"
MOTION_FEATURES_NAME = "features"


def default_motion_quantization() -> Int8Settings:
    """The encoder's recipe with the motion CNN's layers: the convolutions after the first int8, the first and
    the linear head fp32. Activation ranges keep 99.999 % of the calibration values, not the encoder's 99.99 %:
    clipping the CNN's rarest, largest responses cost top-1 agreement with fp32 (articulated bench, seeds 0-2:
    0.968 / 0.975 / 0.972 at 99.99, 0.978 / 0.977 / 0.983 at 99.999; `training/motion_energy_experiments.md`)."""
    return Int8Settings(keep_fp32=("stem", "classifier"), keep_fp32_blocks=(), quantized_ops=("Conv", "Relu"),
                        percentile=99.999)


class MotionInt8Settings(BaseModel):
    """How the motion CNN's int8 copy is calibrated and quantised."""

    model_config = ConfigDict(frozen=True)

    calibration_frames: int = Field(512, ge=1, description="Training candidates (difference stacks) calibrating "
                                    "the activation ranges, drawn at random over every training clip.")
    seed: int = Field(0, description="Seed of the calibration draw.")
    quantization: Int8Settings = Field(default_factory=default_motion_quantization,
                                       description="Calibration method, weight scales and the layers kept fp32.")


class FeaturesAndLogits(nn.Module):
    """The recipe's model (encoder, dropout, linear head) giving the head's input beside its logits."""

    def __init__(self, model: nn.Sequential) -> None:
        super().__init__()
        self.model = model

    def forward(self, stacks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.model[0](stacks)
        return features, self.model[1:](features)


def export_motion_onnx(model: nn.Sequential, path: Path, stack_depth: int, size: int) -> Path:
    """Difference stacks [batch, stack_depth, size, size] -> the encoder's features and the head's logits, with a
    dynamic batch axis, in one file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    progress = io.StringIO()
    # The exporter prints its progress on stdout; commands that end with a JSON line need stdout clean.
    with contextlib.redirect_stdout(progress):
        torch.onnx.export(
            FeaturesAndLogits(model).eval(),
            (torch.zeros(2, stack_depth, size, size),),
            str(path),
            input_names=[MOTION_INPUT_NAME],
            output_names=[MOTION_FEATURES_NAME, MOTION_OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},),  # by position: any forward's name
            dynamo=True,
            external_data=False,
        )
    logger.debug("ONNX exporter: %s", progress.getvalue())
    return path


def calibration_stacks(stacks: np.ndarray, count: int, seed: int) -> np.ndarray:
    """[N,T,depth,S,S] training candidates -> [count,depth,S,S] float32, drawn without replacement over all the
    clips' candidates (idle and burst alike: int8 must hold its ranges on both)."""
    clips, steps = stacks.shape[:2]
    drawn = np.random.default_rng(seed).choice(clips * steps, size=min(count, clips * steps), replace=False)
    return stacks[drawn // steps, drawn % steps].astype(np.float32)


def quantize_motion_int8(fp32_path: Path, int8_path: Path, calibration: np.ndarray,
                         settings: MotionInt8Settings) -> Path:
    """Static int8 (QDQ) copy of the exported motion CNN, calibrated on `calibration` stacks."""
    kept_fp32 = quantize_static_qdq(fp32_path, int8_path, calibration, settings.quantization, MOTION_INPUT_NAME)
    logger.debug("int8 motion CNN written to %s, calibrated on %d stacks, %d nodes kept fp32", int8_path,
                 len(calibration), kept_fp32)
    return int8_path


def motion_session(path: Path, threads: int) -> ort.InferenceSession:
    """An ONNX Runtime CPU session on `threads` intra-op threads, run sequentially (one model, one stream)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxMotionModel(nn.Module):
    """An exported motion CNN behind the torch module's interface: stacks [N,depth,S,S] -> logits [N,C], and
    `features_and_logits` for the learned selector."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        super().__init__()
        self.path = path
        self.session = motion_session(path, threads)

    def run(self, stacks: np.ndarray) -> np.ndarray:
        return self.session.run([MOTION_OUTPUT_NAME], {MOTION_INPUT_NAME: stacks})[0]

    def forward(self, stacks: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.run(np.ascontiguousarray(stacks.numpy(), dtype=np.float32)))

    def features_and_logits(self, stacks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """stacks [N,depth,S,S] -> the encoder's features [N,F] (the head's input) and the logits [N,C]."""
        features, logits = self.session.run([MOTION_FEATURES_NAME, MOTION_OUTPUT_NAME], {
            MOTION_INPUT_NAME: np.ascontiguousarray(stacks.numpy(), dtype=np.float32)})
        return torch.from_numpy(features), torch.from_numpy(logits)
