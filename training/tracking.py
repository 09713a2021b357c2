"""Experiment tracking with MLflow: params, per-epoch metrics, PNG figures, artifacts. Registry operations
(register a version, aliases, version tags) live in ``models.registry``.

Default store: local SQLite (``sqlite:///var/mlflow/mlflow.db``) with file artifacts under
``var/mlflow/artifacts``; any tracking URI works by setting ``tracking.tracking_uri``. Everything goes
through an explicit ``MlflowClient`` and run id, so no global "active run" state leaks between callers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field

from models.registry import RegistrySettings, mlflow_client

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from mlflow import MlflowClient

logger = logging.getLogger(__name__)

PARAMS_PER_BATCH = 100  # MLflow's log_batch limit for params


class TrackingSettings(RegistrySettings):
    """Where runs and models are recorded. Runs and the registry share one store (MLflow's default), so these
    settings extend the registry's; registry calls take them as `RegistrySettings`."""

    model_config = ConfigDict(extra="forbid")

    artifact_root: Path | None = Field(
        Path("var/mlflow/artifacts"), description="artifact folder for new experiments; None = server default"
    )
    experiment: str = Field("actionstream", description="experiment name (created on first use)")


def flatten_params(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested mapping -> {"a.b.c": "value"} with values as strings (MLflow params are strings)."""
    flat: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, prefix=f"{name}."))
        else:
            flat[name] = str(value)
    return flat


class Tracker:
    """One MLflow run as a context manager; the run ends FAILED if the block raises."""

    def __init__(
        self, settings: TrackingSettings, run_name: str | None = None, tags: Mapping[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.run_name = run_name
        self.tags = dict(tags or {})
        self.history: dict[str, list[tuple[int, float]]] = {}
        self._client: MlflowClient | None = None
        self._run_id: str | None = None

    def __enter__(self) -> Tracker:
        self._client = mlflow_client(self.settings)
        experiment_id = self._experiment_id(self._client)
        run = self._client.create_run(experiment_id, run_name=self.run_name, tags=self.tags)
        self._run_id = run.info.run_id
        logger.info("MLflow run %s in experiment %s at %s", self._run_id, self.settings.experiment,
                    self.settings.tracking_uri)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.client.set_terminated(self.run_id, status="FAILED" if exc_type is not None else "FINISHED")

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            raise RuntimeError("Tracker is not started; use it as a context manager")
        return self._client

    @property
    def run_id(self) -> str:
        if self._run_id is None:
            raise RuntimeError("Tracker is not started; use it as a context manager")
        return self._run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log a (possibly nested) mapping as flattened string params."""
        from mlflow.entities import Param

        flat = [Param(key, value) for key, value in flatten_params(params).items()]
        for start in range(0, len(flat), PARAMS_PER_BATCH):
            self.client.log_batch(self.run_id, params=flat[start : start + PARAMS_PER_BATCH])

    def log_config(self, config: BaseModel, name: str = "config.yaml") -> None:
        """Log a resolved config as params and as a YAML artifact."""
        values = config.model_dump(mode="json")
        self.log_params(values)
        self.log_text(yaml.safe_dump(values, sort_keys=False), name)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log scalar metrics at ``step``; they are also kept in ``history`` for the curves."""
        from mlflow.entities import Metric

        timestamp = _now_ms()
        entries = [Metric(key, float(value), timestamp, step or 0) for key, value in metrics.items()]
        self.client.log_batch(self.run_id, metrics=entries)
        for key, value in metrics.items():
            self.history.setdefault(key, []).append((step or 0, float(value)))

    def log_epoch(self, epoch: int, metrics: Mapping[str, float]) -> None:
        """Per-epoch train/val losses and metrics, e.g. {"train_loss": .., "val_loss": .., "val_accuracy": ..}."""
        self.log_metrics(metrics, step=epoch)

    def log_text(self, text: str, name: str) -> None:
        """Write ``text`` as the artifact ``name`` (may contain folders)."""
        self.client.log_text(self.run_id, text, name)

    def log_dict(self, values: Mapping[str, Any], name: str) -> None:
        """Write a JSON/YAML artifact (format from the suffix of ``name``)."""
        self.client.log_dict(self.run_id, dict(values), name)

    def log_figure(self, figure: Figure, name: str) -> None:
        """Save a matplotlib figure as a PNG artifact."""
        self.client.log_figure(self.run_id, figure, name)

    def log_training_curves(self, name: str = "training_curves.png") -> None:
        """Loss curves (left) and the other metrics (right) against epoch, from ``history``."""
        if not self.history:
            raise ValueError("no metrics logged yet")
        self.log_figure(plot_training_curves(self.history), name)

    def log_confusion_matrix(
        self, confusion: np.ndarray, class_names: Sequence[str], name: str = "confusion_matrix.png"
    ) -> None:
        """The confusion matrix as a PNG artifact."""
        self.log_figure(plot_confusion_matrix(confusion, class_names), name)

    def log_dir(self, directory: Path, artifact_path: str) -> None:
        """Upload every file under ``directory`` to ``artifact_path``."""
        self.client.log_artifacts(self.run_id, str(directory), artifact_path)

    def artifact_uri(self, artifact_path: str) -> str:
        """URI of a folder this run logged (what a registry version points at)."""
        return f"{self.client.get_run(self.run_id).info.artifact_uri}/{artifact_path}"

    def _experiment_id(self, client: MlflowClient) -> str:
        experiment = client.get_experiment_by_name(self.settings.experiment)
        if experiment is not None:
            return str(experiment.experiment_id)
        root = self.settings.artifact_root
        location = root.resolve().as_uri() if root is not None else None
        return str(client.create_experiment(self.settings.experiment, artifact_location=location))


def plot_training_curves(history: Mapping[str, Sequence[tuple[int, float]]]) -> Figure:
    """Figure with loss series on the left axis panel and every other series on the right. Only series of two
    or more epochs are curves: one-off results (test metrics, training time) would fill the legend until the
    axes collapse."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4), layout="constrained")
    loss_axes, metric_axes = figure.subplots(1, 2)
    for key, points in sorted(history.items()):
        if len(points) < 2:
            continue
        axes = loss_axes if "loss" in key else metric_axes
        steps, values = zip(*points, strict=True)
        axes.plot(steps, values, marker="o", label=key)
    for axes, title in ((loss_axes, "loss"), (metric_axes, "metrics")):
        axes.set_title(title)
        axes.set_xlabel("epoch")
        if axes.lines:
            axes.legend()
    return figure


def plot_confusion_matrix(confusion: np.ndarray, class_names: Sequence[str]) -> Figure:
    """Annotated heat map, rows = true class, columns = predicted class."""
    from matplotlib.figure import Figure

    size = max(4.0, 0.5 * len(class_names) + 2)
    figure = Figure(figsize=(size, size), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(confusion, cmap="Blues")
    figure.colorbar(image, ax=axes)
    ticks = np.arange(len(class_names))
    axes.set_xticks(ticks, labels=list(class_names), rotation=90)
    axes.set_yticks(ticks, labels=list(class_names))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    threshold = confusion.max() / 2 if confusion.size else 0
    for row, column in np.ndindex(confusion.shape):
        colour = "white" if confusion[row, column] > threshold else "black"
        axes.text(column, row, str(confusion[row, column]), ha="center", va="center", color=colour)
    return figure


def _now_ms() -> int:
    return int(time.time() * 1000)
