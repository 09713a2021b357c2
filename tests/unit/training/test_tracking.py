import io
import warnings
from pathlib import Path

import numpy as np
import pytest

from models.registry import register_version, resolve_bundle_dir, set_alias
from training.config import TrainConfig
from training.tracking import Tracker, TrackingSettings, flatten_params, plot_training_curves


@pytest.fixture
def settings(tmp_path: Path) -> TrackingSettings:
    return TrackingSettings(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}",
        artifact_root=tmp_path / "artifacts",
        experiment="unit",
        registered_model="unit-model",
    )


def test_flatten_params_joins_nested_keys() -> None:
    assert flatten_params({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": None}) == {
        "a.b": "1",
        "a.c.d": "[1, 2]",
        "e": "None",
    }


@pytest.mark.slow
def test_log_register_alias_and_resolve(
    tmp_path: Path, settings: TrackingSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing may fall back to MLflow's default store in the working directory.
    working_directory = tmp_path / "cwd"
    working_directory.mkdir()
    monkeypatch.chdir(working_directory)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "classes.json").write_text('["a", "b"]')

    with Tracker(settings, run_name="unit-run") as tracker:
        tracker.log_config(TrainConfig())
        tracker.log_epoch(0, {"train_loss": 1.0, "val_loss": 1.2, "val_accuracy": 0.4})
        tracker.log_epoch(1, {"train_loss": 0.5, "val_loss": 0.9, "val_accuracy": 0.7})
        tracker.log_training_curves()
        tracker.log_confusion_matrix(np.array([[3, 1], [0, 4]]), ["a", "b"])
        tracker.log_dir(bundle, "model")
        version = register_version(settings, tracker.artifact_uri("model"), tracker.run_id)
        run_id = tracker.run_id

    run = tracker.client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["optimizer.name"] == "adamw"
    assert run.data.metrics["val_accuracy"] == 0.7
    history = tracker.client.get_metric_history(run_id, "train_loss")
    assert [(point.step, point.value) for point in history] == [(0, 1.0), (1, 0.5)]
    artifacts = {entry.path for entry in tracker.client.list_artifacts(run_id)}
    assert {"config.yaml", "training_curves.png", "confusion_matrix.png", "model"} <= artifacts

    assert version == "1"
    candidate = resolve_bundle_dir("candidate", settings, destination=tmp_path / "candidate")
    assert (candidate / "classes.json").read_text() == '["a", "b"]'

    set_alias(settings, version, "production")
    production = resolve_bundle_dir("models:/unit-model@production", settings, destination=tmp_path / "production")
    assert (production / "classes.json").is_file()
    assert list(working_directory.iterdir()) == []


def test_run_that_raises_ends_failed(settings: TrackingSettings) -> None:
    with pytest.raises(RuntimeError, match="boom"), Tracker(settings) as tracker:
        raise RuntimeError("boom")

    assert tracker.client.get_run(tracker.run_id).info.status == "FAILED"


def test_training_curves_leave_one_off_results_out_of_the_legend() -> None:
    history = {"classifier/train_loss": [(0, 1.0), (1, 0.5)], "classifier/val_end_to_end": [(0, 0.4), (1, 0.8)]}
    history |= {f"test/strategy{index}/accuracy": [(0, 0.5)] for index in range(24)}  # a run's final results
    history["training_seconds"] = [(0, 57.0)]
    figure = plot_training_curves(history)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns when a crowded legend collapses the axes
        figure.savefig(io.BytesIO(), format="png")
    loss_axes, metric_axes = figure.axes
    assert [line.get_label() for line in loss_axes.lines] == ["classifier/train_loss"]
    assert [line.get_label() for line in metric_axes.lines] == ["classifier/val_end_to_end"]
