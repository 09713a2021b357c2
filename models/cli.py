"""`actionstream export`: the frame encoder as ONNX fp32, calibrated ONNX int8, or a TensorRT engine."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import typer

logger = logging.getLogger(__name__)

EXPORT_BACKENDS = ("onnx", "onnx-int8", "tensorrt")
DEFAULT_EXPORT_DIR = Path("var/export")


def export(
    backend: str = typer.Option(..., "--backend", help="onnx, onnx-int8 or tensorrt."),
    model: str = typer.Option("candidate", "--model", help="Bundle directory, registry alias or models:/ URI."),
    out: Path | None = typer.Option(
        None, "--out", help="Output folder; default: the bundle folder when --model is one, else var/export."
    ),
    data: Path | None = typer.Option(
        None, "--data", help="UCF101-layout folder whose training frames join the synthetic int8 calibration frames."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed picking the training frames (the training run's seed)."),
    precision: str = typer.Option("fp16", "--precision", help="TensorRT engine precision: fp32, fp16 or int8."),
    tracking_uri: str = typer.Option("sqlite:///var/mlflow/mlflow.db", "--tracking-uri", help="MLflow registry URI."),
) -> None:
    """Write the encoder for a serving backend and print a JSON line with the file and its parity."""
    import numpy as np

    from models.backends import BackendOptions, BackendUnavailableError, check_parity, create_backend
    from models.backends.torch_backend import TorchBackend
    from models.bundle import ModelBundle
    from models.encoder import FrameEncoder
    from models.export import ENCODER_INT8_ONNX, ENCODER_ONNX, export_encoder_onnx
    from models.quantization import INT8_RECIPE
    from models.registry import RegistrySettings, resolve_bundle_dir

    if backend not in EXPORT_BACKENDS:
        raise typer.BadParameter(f"choose one of {', '.join(EXPORT_BACKENDS)}", param_hint="--backend")
    bundle_dir = resolve_bundle_dir(model, RegistrySettings(tracking_uri=tracking_uri))
    bundle = ModelBundle.load(bundle_dir)
    target = out or (bundle_dir if Path(model).is_dir() else DEFAULT_EXPORT_DIR)
    target.mkdir(parents=True, exist_ok=True)
    encoder = FrameEncoder()
    if not (target / ENCODER_ONNX).exists():
        export_encoder_onnx(encoder, target / ENCODER_ONNX, bundle.preprocessing.image_size)
    written = target / ENCODER_ONNX
    if backend == "onnx-int8":
        written = target / ENCODER_INT8_ONNX
        if data is None and (bundle_dir / ENCODER_INT8_ONNX).exists():
            if bundle_dir.resolve() != target.resolve():
                shutil.copyfile(bundle_dir / ENCODER_INT8_ONNX, written)
                if (bundle_dir / INT8_RECIPE).exists():
                    shutil.copyfile(bundle_dir / INT8_RECIPE, target / INT8_RECIPE)
        else:
            # The training pipeline's recipe: with the same data and seed, the same int8 model as the bundle's.
            from training.calibration import build_int8_encoder
            from training.smart_settings import FeatureSettings
            from training.ucf101 import Ucf101Index

            items = Ucf101Index.from_folder(data).train if data is not None else None
            features = FeatureSettings(num_candidates=bundle.manifest.num_candidates)
            build_int8_encoder(target / ENCODER_ONNX, written, bundle.preprocessing, items, features, seed)
    options = BackendOptions(model_dir=target, precision="int8" if backend == "onnx-int8" else "fp32")
    if backend == "tensorrt":
        options = BackendOptions(model_dir=target, precision=precision, device="cuda")
        try:
            candidate = create_backend("tensorrt", options)
        except BackendUnavailableError as error:
            typer.echo(f"cannot export for TensorRT here: {error}", err=True)
            raise typer.Exit(code=3) from error
        written = target / f"encoder.{precision}.plan"
    else:
        candidate = create_backend("onnxruntime", options)
    rng = np.random.default_rng(0)
    probe = bundle.preprocessing(rng.integers(0, 256, size=(8, 224, 224, 3), dtype=np.uint8))
    reference = TorchBackend(BackendOptions(model_dir=target), encoder)
    parity = check_parity(reference, candidate, probe)
    typer.echo(json.dumps({"export": backend, "file": str(written), "parity": parity.to_dict()}))


def register(app: typer.Typer) -> None:
    app.command("export")(export)
