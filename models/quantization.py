"""Static int8 quantisation of the exported encoder (ONNX Runtime, QDQ) with its settings.

QDQ with per-channel symmetric int8 weights is the format TensorRT also parses. The ImageNet top-1 on our
frames has a small margin (median top-1/top-2 logit gap 0.3: fp32 itself flips 8 % of them under invisible
0.5/255 pixel noise), so every quantised tensor costs agreement. Only convolutions and their ReLU6 (Clip, fused
into the convolution's output range [0, 6]) are quantised; ONNX Runtime still runs the residual adds between two
int8 convolutions as QLinearAdd, while the pooled features and the classifier Gemm stay fp32 (8-bit steps on the
logits decide near ties).

Measured on the 1,920 frames of the shapes bench set (ImageNet top-1 agreement with fp32; int8 speed over ONNX
Runtime fp32 in CPU time per image on one thread, paired turns, median of 7 and range):
- Which blocks stay fp32, greedy from the old default (stem, blocks 0-3 and 11; 0.889, 1.59x [1.31-1.83]):
  keeping block 8 as well (the first 112-channel block, 14x14) lifts agreement to 0.922 at 1.52x [1.38-1.76]
  (default); every other extra block moved it by under 2 points on a 640-frame subset. From there, giving
  block 3 back to int8 is faster but borderline (0.9005, 1.66x [1.51-1.88]); giving block 11 back loses
  3 points, block 1 or 2 loses 3.5-11.
- Calibration (old default blocks, 640-frame subset): 99.99th percentile 0.888, MinMax 0.886, 99.999th 0.872,
  entropy (KL) 0.869; 99.9th percentile clips too much (0.781, all frames).
- On the default recipe (640-frame subset): per-tensor weights 0.722, reduce_range (7-bit) 0.794, QOperator
  format 0.913 at 1.53x, quantised adds 0.917 at 1.53x. Wall-clock speed on the loaded machine, two threads:
  symmetric int8 activations 0.900 but 0.93x (signed activations leave the u8s8 fast path); graph
  optimisation below ORT_ENABLE_ALL loses the int8 layout transforms (0.77x at extended, 0.46x at basic).
- `bench encoder` (two threads, wall clock) on the loaded machine gave the default 1.37x [1.13-1.66] in one run
  and 1.09x [0.85-1.63] in the next: oversubscribed threads hurt int8's shorter kernels more than fp32's, so
  compare on one thread or in CPU time (re-measured: 1.52x [1.48-1.54] over 11 paired turns).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from models.export import INPUT_NAME

logger = logging.getLogger(__name__)

INT8_RECIPE = "encoder.int8.json"  # beside the int8 model: how it was made

CalibrationMethodName = Literal["minmax", "entropy", "percentile"]
LayerGroup = Literal["stem", "depthwise", "head", "classifier"]
QuantizedOp = Literal["Conv", "Gemm", "Add", "ReduceMean", "Clip", "Relu"]


class Int8Settings(BaseModel):
    """How the int8 encoder is calibrated and which layers stay fp32."""

    model_config = ConfigDict(frozen=True)

    method: CalibrationMethodName = Field("percentile", description="Activation range calibration method.")
    percentile: float = Field(99.99, gt=90.0, le=100.0, description="Kept share of values for 'percentile'.")
    per_channel: bool = Field(True, description="One weight scale per output channel (not per tensor).")
    activation_symmetric: bool = Field(
        False, description="Signed int8 activations with zero point 0 (TensorRT's convention) instead of uint8."
    )
    keep_fp32: tuple[LayerGroup, ...] = Field(
        ("stem",), description="Layer groups left unquantised: stem, depthwise, head (1x1 conv), classifier."
    )
    keep_fp32_blocks: tuple[int, ...] = Field(
        (0, 1, 2, 3, 8, 11), description="MBConv blocks (`_blocks.N`) left unquantised: the most sensitive, measured."
    )
    quantized_ops: tuple[QuantizedOp, ...] = Field(
        ("Conv", "Clip"), description="Operator types given int8 inputs and outputs (Clip: the fused ReLU6; Relu: a "
        "plain ReLU, fused into the convolution's output range)."
    )
    batch_size: int = Field(8, ge=1, description="Calibration images per inference call.")
    batches_per_pass: int = Field(4, ge=1, description="Batches whose activations are held before merging ranges.")


class _CalibrationReader:
    """Feeds preprocessed calibration images to the quantiser in batches, a range of batches at a time.

    The quantiser calibrates one range (`set_range`) per pass and merges the passes, so memory holds the
    activations of a few batches, not of every calibration frame.
    """

    def __init__(self, images: np.ndarray, batch_size: int, input_name: str = INPUT_NAME) -> None:
        self._batches = [images[start : start + batch_size] for start in range(0, len(images), batch_size)]
        self._input_name = input_name
        self._pending: Iterator[np.ndarray] = iter(self._batches)

    def __len__(self) -> int:
        return len(self._batches)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._pending = iter(self._batches[start_index:end_index])

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._pending, None)
        return None if batch is None else {self._input_name: np.ascontiguousarray(batch, dtype=np.float32)}


def calibration_stride(batches: int, most: int) -> int:
    """The largest batch count per calibration pass, at most `most`, that divides the batches evenly."""
    return max(stride for stride in range(1, min(most, batches) + 1) if batches % stride == 0)


_BLOCK_WEIGHT = re.compile(r"_blocks\.(\d+)\.")


def block_nodes(model_path: Path) -> dict[int, list[str]]:
    """Node names per MBConv block, from the weight names the exporter keeps (`network._blocks.N.*`)."""
    import onnx

    blocks: dict[int, list[str]] = {}
    for node in onnx.load(str(model_path), load_external_data=False).graph.node:
        match = next((found for name in node.input if (found := _BLOCK_WEIGHT.search(name))), None)
        if match:
            blocks.setdefault(int(match.group(1)), []).append(node.name)
    return blocks


def layer_groups(model_path: Path) -> dict[LayerGroup, list[str]]:
    """Node names per layer group, found from the graph's structure (the exporter's node names are not stable)."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    convs = [node for node in graph.node if node.op_type == "Conv"]

    def group(node: onnx.NodeProto) -> int:
        return next((attribute.i for attribute in node.attribute if attribute.name == "group"), 1)

    graph_inputs = {value.name for value in graph.input}
    return {
        "stem": [node.name for node in convs if node.input[0] in graph_inputs],
        "depthwise": [node.name for node in convs if group(node) > 1],
        "head": [convs[-1].name] if convs else [],
        "classifier": [node.name for node in graph.node if node.op_type in ("Gemm", "MatMul")],
    }


def quantize_encoder_int8(
    fp32_path: Path, int8_path: Path, calibration_images: np.ndarray, settings: Int8Settings | None = None
) -> Path:
    """Static int8 quantisation (QDQ) calibrated on preprocessed frames; deterministic for the same inputs."""
    settings = settings or Int8Settings()
    kept_fp32 = quantize_static_qdq(fp32_path, int8_path, calibration_images, settings)
    recipe = {"settings": settings.model_dump(mode="json"), "calibration_frames": len(calibration_images),
              "nodes_kept_fp32": kept_fp32}
    (int8_path.parent / INT8_RECIPE).write_text(json.dumps(recipe, indent=2))
    logger.info("int8 encoder written to %s, calibrated (%s) on %d frames, %d nodes kept fp32",
                int8_path, settings.method, len(calibration_images), kept_fp32)
    return int8_path


def quantize_static_qdq(fp32_path: Path, int8_path: Path, calibration_inputs: np.ndarray, settings: Int8Settings,
                        input_name: str = INPUT_NAME) -> int:
    """Static int8 quantisation (QDQ) of any single-input model, calibrated on `calibration_inputs` fed to
    `input_name`; the layer groups and blocks `settings` keeps fp32 stay unquantised. Returns how many nodes
    stayed fp32."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if len(calibration_inputs) == 0:
        raise ValueError("int8 calibration needs at least one input")
    prepared_path = int8_path.with_suffix(".prepared.onnx")
    quant_pre_process(str(fp32_path), str(prepared_path), skip_symbolic_shape=True)
    groups = layer_groups(prepared_path)
    blocks = block_nodes(prepared_path)
    excluded = [name for group in settings.keep_fp32 for name in groups[group]]
    excluded += [name for block in settings.keep_fp32_blocks for name in blocks.get(block, [])]
    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    reader = _CalibrationReader(calibration_inputs, settings.batch_size, input_name)
    # The quantiser logs every per-channel scale adjustment at INFO on the root logger: hundreds of lines.
    root_logger = logging.getLogger()
    previous_level = root_logger.level
    root_logger.setLevel(max(previous_level, logging.WARNING))
    # The percentile calibrator prints its range on stdout; commands that end with a JSON line need stdout clean.
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            quantize_static(
                str(prepared_path),
                str(int8_path),
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=settings.per_channel,
                activation_type=QuantType.QInt8 if settings.activation_symmetric else QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=methods[settings.method],
                nodes_to_exclude=excluded,
                op_types_to_quantize=list(settings.quantized_ops),
                extra_options={
                    "ActivationSymmetric": settings.activation_symmetric,
                    "WeightSymmetric": True,
                    "CalibPercentile": settings.percentile,
                    "CalibStridedMinMax": calibration_stride(len(reader), settings.batches_per_pass),
                },
            )
    finally:
        root_logger.setLevel(previous_level)
        prepared_path.unlink(missing_ok=True)
    return len(excluded)


def read_int8_recipe(model_dir: Path) -> dict[str, Any] | None:
    """The recipe written beside the int8 encoder, or None for one made before recipes were recorded."""
    path = model_dir / INT8_RECIPE
    return json.loads(path.read_text()) if path.exists() else None
