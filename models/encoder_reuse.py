"""The frozen encoder's ONNX files taken from an earlier bundle instead of exported again.

The encoder is frozen, so a retrain candidate's encoder.onnx (and its int8 copy) would be the production
bundle's again: same weights, same input size, same exporter. Exporting costs seconds on an idle core and
over a minute at the retrain worker's low priority beside a running stream. A bundle records a digest of what
its files were made from; a candidate copies them when its own digest is the same, and exports otherwise
(an older bundle without a digest, other weights, another torch, another int8 recipe).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

import torch
from pydantic import BaseModel

from models.bundle import Manifest
from models.encoder import FrameEncoder
from models.export import ENCODER_INT8_ONNX, ENCODER_ONNX, export_encoder_onnx
from models.quantization import INT8_RECIPE

logger = logging.getLogger(__name__)


def encoder_digest(encoder: FrameEncoder, image_size: int) -> str:
    """sha256 of the encoder's weights (names, dtypes, shapes, values), its input size and the exporter's torch."""
    digest = hashlib.sha256(f"{image_size}|torch {torch.__version__}".encode())
    for name, tensor in sorted(encoder.state_dict().items()):
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def int8_digest(fp32_digest: str, *recipe: BaseModel | str) -> str:
    """The int8 copy's digest: the fp32 encoder's and the quantisation and calibration settings it was made with."""
    digest = hashlib.sha256(fp32_digest.encode())
    for part in recipe:
        digest.update((part if isinstance(part, str) else part.model_dump_json()).encode())
    return digest.hexdigest()


def reuse_file(source: Path | None, source_digest: str | None, digest: str, target: Path) -> bool:
    """Copy `source` to `target` when its recorded digest is `digest`; False (nothing copied) otherwise."""
    if source is None or source_digest != digest or not source.is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.resolve() != target.resolve():
        shutil.copyfile(source, target)
    return True


def reuse_or_export_encoder(encoder: FrameEncoder, bundle_dir: Path, image_size: int, previous: Path | None,
                            previous_digest: str | None) -> str:
    """encoder.onnx in `bundle_dir`: the `previous` bundle's when it was made from the same encoder, else
    exported. Returns the encoder's digest, for the new bundle's manifest."""
    digest = encoder_digest(encoder, image_size)
    source = previous / ENCODER_ONNX if previous is not None else None
    if reuse_file(source, previous_digest, digest, bundle_dir / ENCODER_ONNX):
        logger.info("frame encoder reused from %s (same weights and export)", previous)
    else:
        export_encoder_onnx(encoder, bundle_dir / ENCODER_ONNX, image_size)
    return digest


def reuse_int8_encoder(previous: Path | None, previous_manifest: Manifest | None, digest: str,
                       bundle_dir: Path) -> bool:
    """Copy the previous bundle's int8 encoder and its recipe file when made to `digest`; False otherwise."""
    if previous is None or previous_manifest is None:
        return False
    if not reuse_file(previous / ENCODER_INT8_ONNX, previous_manifest.encoder_int8_digest, digest,
                      bundle_dir / ENCODER_INT8_ONNX):
        return False
    if (previous / INT8_RECIPE).is_file():
        shutil.copyfile(previous / INT8_RECIPE, bundle_dir / INT8_RECIPE)
    return True
