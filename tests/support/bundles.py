"""A small untrained model bundle with an exported ONNX encoder: enough for the plumbing of serving
(selection, classification, hot swaps), built in seconds without training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models.bundle import Architecture, Manifest, ModelBundle, build_modules
from models.encoder import FrameEncoder
from models.export import ENCODER_ONNX, export_encoder_onnx
from models.preprocessing import Preprocessing
from models.registry import register_version
from training.tracking import Tracker, TrackingSettings


def make_tiny_bundle(directory: Path, classes: list[str], seed: int = 0, num_candidates: int = 8,
                     num_frames: int = 2, encoder_onnx: Path | None = None) -> Path:
    """Random selectors and classifier; the encoder ONNX is exported, or copied from `encoder_onnx`."""
    torch.manual_seed(seed)
    architecture = Architecture(global_hidden_dim=32, single_hidden_dim=32, shared_hidden_dim=16,
                                global_gamma_input="frame")
    single, global_, classifier = build_modules(architecture, num_classes=len(classes))
    name_table = np.random.default_rng(seed).normal(size=(1000, 384)).astype(np.float32)
    manifest = Manifest(classes=classes, architecture=architecture, num_candidates=num_candidates,
                        num_frames=num_frames)
    bundle_dir = ModelBundle(manifest, Preprocessing(), name_table, single, global_, classifier.eval()).save(directory)
    if encoder_onnx is None:
        export_encoder_onnx(FrameEncoder(), bundle_dir / ENCODER_ONNX)
    else:
        (bundle_dir / ENCODER_ONNX).write_bytes(encoder_onnx.read_bytes())
    return bundle_dir


def register_bundle(settings: TrackingSettings, bundle: Path, alias: str | None = None) -> str:
    """Log `bundle` in a run of its own and register it as a new version (alias: the candidate alias)."""
    with Tracker(settings, run_name=bundle.name) as tracker:
        tracker.log_dir(bundle, "model")
        return register_version(settings, tracker.artifact_uri("model"), tracker.run_id, alias)
