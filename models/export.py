"""ONNX export of the frame encoder (fp32); its int8 copy is made by models.quantization."""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

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
