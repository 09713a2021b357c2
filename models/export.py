"""ONNX export of the frame encoder and ONNX Runtime int8 static quantisation calibrated on real frames."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from models.encoder import FrameEncoder

logger = logging.getLogger(__name__)

ENCODER_ONNX = "encoder.onnx"
ENCODER_INT8_ONNX = "encoder.int8.onnx"
INPUT_NAME = "images"
OUTPUT_NAMES = ("features", "logits")


def export_encoder_onnx(encoder: FrameEncoder, path: Path, image_size: int = 224) -> Path:
    """Export with a dynamic batch axis, weights embedded in the one file (so it travels as one artifact)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(2, 3, image_size, image_size)
    progress = io.StringIO()
    # The exporter prints its progress on stdout; commands that end with a JSON line need stdout clean.
    with contextlib.redirect_stdout(progress):
        torch.onnx.export(
            encoder.eval(),
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_shapes={INPUT_NAME: {0: torch.export.Dim("batch", min=1, max=4096)}},
            dynamo=True,
            external_data=False,
        )
    logger.debug("ONNX exporter: %s", progress.getvalue())
    logger.info("exported the frame encoder to %s", path)
    return path


class _CalibrationReader:
    """Feeds preprocessed calibration images to the quantiser in small batches."""

    def __init__(self, images: np.ndarray, batch_size: int) -> None:
        self._batches: Iterator[np.ndarray] = iter(
            [images[start : start + batch_size] for start in range(0, len(images), batch_size)]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)}


def quantize_encoder_int8(
    fp32_path: Path, int8_path: Path, calibration_images: np.ndarray, batch_size: int = 8
) -> Path:
    """Static int8 quantisation (QDQ, per-channel weights) calibrated on preprocessed training frames."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if len(calibration_images) == 0:
        raise ValueError("int8 calibration needs at least one preprocessed frame")
    prepared_path = int8_path.with_suffix(".prepared.onnx")
    quant_pre_process(str(fp32_path), str(prepared_path), skip_symbolic_shape=True)
    # The quantiser logs every per-channel scale adjustment at INFO on the root logger: hundreds of lines.
    root_logger = logging.getLogger()
    previous_level = root_logger.level
    root_logger.setLevel(max(previous_level, logging.WARNING))
    try:
        quantize_static(
            str(prepared_path),
            str(int8_path),
            _CalibrationReader(calibration_images, batch_size),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
    finally:
        root_logger.setLevel(previous_level)
        prepared_path.unlink(missing_ok=True)
    logger.info("int8 encoder written to %s, calibrated on %d frames", int8_path, len(calibration_images))
    return int8_path
