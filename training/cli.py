"""`actionstream train` and `actionstream evaluate`."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import typer

logger = logging.getLogger(__name__)

STRATEGY_CHOICES = "smart|uniform|random|dense|single|global"


def train(
    data: Path | None = typer.Option(None, "--data", help="UCF101-layout folder; default: the synthetic set."),
    config: list[Path] = typer.Option([], "--config", help="YAML config file(s), later ones win."),
    overrides: list[str] = typer.Option([], "--set", help="Override a setting, e.g. --set classifier.kind=heavy."),
    run_dir: Path | None = typer.Option(None, "--run-dir", help="Where the run's files go; default var/runs/<time>."),
    track: bool = typer.Option(True, "--track/--no-track", help="Log to MLflow and register the bundle."),
) -> None:
    """Train the SMART selectors and the classifier; register the bundle with alias `candidate`."""
    from training.config import load_config
    from training.pipeline import run_training

    extra = [f"data.root={data}"] if data is not None else []
    settings = load_config(config, [*overrides, *extra])
    directory = run_dir or Path("var/runs") / time.strftime("%Y%m%d-%H%M%S")
    outcome = run_training(settings, directory, track=track)
    typer.echo(json.dumps({
        "bundle": str(outcome.bundle_dir), "run_id": outcome.run_id, "model_version": outcome.model_version,
        "primary_metric": outcome.primary_metric, "training_seconds": round(outcome.seconds, 1),
        "test": outcome.test_results,
    }))


def evaluate(
    data: Path = typer.Option(..., "--data", help="UCF101-layout folder to evaluate on."),
    model: str = typer.Option("candidate", "--model", help="Bundle directory, registry alias or models:/ URI."),
    selector: str = typer.Option("smart", "--selector", help=f"Frame selection: {STRATEGY_CHOICES}."),
    frames: int = typer.Option(4, "--frames", help="n: frames per clip given to the classifier."),
    candidates: int | None = typer.Option(None, "--candidates", help="T: candidates per clip; default: the bundle's."),
    split: int = typer.Option(1, "--split", help="Official split number 1-3."),
    subset: str = typer.Option("test", "--subset", help="test, train or all videos of the split."),
    backend: str = typer.Option("onnxruntime", "--backend", help="Encoder backend: onnxruntime, torch, tensorrt."),
    precision: str = typer.Option("fp32", "--precision", help="Encoder precision: fp32, int8, fp16, bf16."),
    tracking_uri: str = typer.Option("sqlite:///var/mlflow/mlflow.db", "--tracking-uri", help="MLflow registry URI."),
    cache_dir: Path = typer.Option(Path("var/features"), "--cache-dir", help="Feature cache folder."),
) -> None:
    """Select n of T candidate frames per clip, classify, and print one JSON line of metrics."""
    from models.backends import BackendUnavailableError
    from models.bundle import ModelBundle
    from models.registry import RegistrySettings, resolve_bundle_dir
    from training.evaluate import build_scorer, evaluate_strategy, extract_evaluation_features
    from training.smart_settings import FeatureSettings
    from training.ucf101 import Ucf101Index

    bundle_dir = resolve_bundle_dir(model, RegistrySettings(tracking_uri=tracking_uri))
    bundle = ModelBundle.load(bundle_dir)
    index = Ucf101Index.from_folder(data, split)
    items = {"test": index.test, "train": index.train, "all": index.train + index.test}[subset]
    settings = FeatureSettings(
        num_candidates=candidates or bundle.manifest.num_candidates, backend=backend, precision=precision,
        top_k_names=bundle.manifest.architecture.top_k_names, cache_dir=cache_dir,
    )
    try:
        features = extract_evaluation_features(bundle_dir, bundle, items, settings)
    except BackendUnavailableError as error:
        typer.echo(f"encoder backend {backend!r} ({precision}) is not available here: {error}", err=True)
        raise typer.Exit(code=3) from error
    features = replace(features, labels=_relabel(features.labels, index.classes, bundle.classes))
    scorer = build_scorer(bundle, items, settings.num_candidates)
    result = evaluate_strategy(selector, bundle, scorer, features, frames, len(bundle.classes))
    typer.echo(json.dumps({
        "model": model, "data": str(data), "clips": len(features.labels), "candidates": settings.num_candidates,
        "frames": frames, **result.summary(),
    }))


def _relabel(labels: np.ndarray, data_classes: list[str], model_classes: list[str]) -> np.ndarray:
    """Map the folder's class numbering onto the model's (by name); unknown classes cannot be scored."""
    unknown = sorted(set(data_classes) - set(model_classes))
    if unknown:
        raise typer.BadParameter(f"classes not known to the model: {', '.join(unknown)}", param_hint="--data")
    mapping = np.asarray([model_classes.index(name) for name in data_classes], dtype=np.int64)
    return mapping[labels]


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("evaluate")(evaluate)
