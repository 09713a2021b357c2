"""The SMART training order end to end on a tiny synthetic set, then the CLIs on the bundle it made."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from actionstream.cli import app
from models.bundle import ModelBundle
from models.registry import RegistrySettings, resolve_bundle_dir
from training.config import load_config
from training.pipeline import TrainingOutcome, run_training, validation_rows
from training.synth import SynthSettings, generate_dataset

TINY_CLASSES = 3


def test_validation_holds_out_whole_groups() -> None:
    ids = [f"C{label}/v_C{label}_g{group:02d}_c01" for label in range(2) for group in (1, 2, 3, 4)]
    rows = validation_rows(ids, np.repeat([0, 1], 4), fraction=0.25, seed=0)
    assert [ids[row] for row in rows] == ["C0/v_C0_g04_c01", "C1/v_C1_g04_c01"]


def test_validation_without_groups_is_stratified() -> None:
    ids = [f"clip{index}" for index in range(8)]
    rows = validation_rows(ids, np.repeat([0, 1], 4), fraction=0.25, seed=0)
    assert sorted(np.repeat([0, 1], 4)[rows].tolist()) == [0, 1]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainingOutcome, Path, float, Path]:
    torch.set_num_threads(2)
    root = tmp_path_factory.mktemp("tiny")
    data = generate_dataset(
        SynthSettings(num_classes=TINY_CLASSES, clips_per_class=12, groups=4, width=96, height=72, fps=12.0,
                      seconds=2.0, seed=0),
        root / "data", progress=False,
    )
    tracking = f"sqlite:///{root / 'mlflow.db'}"
    config = load_config([], [
        f"data.root={data}", f"features.cache_dir={root / 'features'}", "features.num_candidates=12",
        "features.calibration_frames=8", "classifier.epochs=25", "classifier.oracle_folds=2",
        "selectors.num_frames=2", "selectors.single_epochs=15", "selectors.global_epochs=10",
        "selectors.global_hidden_dim=64", "selectors.batch_size=4",
        f"tracking.tracking_uri={tracking}", f"tracking.artifact_root={root / 'artifacts'}",
    ])
    started = time.perf_counter()
    outcome = run_training(config, root / "run", track=True, progress=False)
    return outcome, data, time.perf_counter() - started, root


@pytest.mark.slow
def test_tiny_training_beats_chance_clearly(tiny_run: tuple[TrainingOutcome, Path, float, Path]) -> None:
    outcome, _, seconds, root = tiny_run
    print(json.dumps(outcome.test_results), f"{seconds:.1f} s")
    assert outcome.test_results["smart"]["accuracy"] >= 0.6, outcome.test_results  # chance: 1/3
    assert outcome.primary_metric == "accuracy"
    assert outcome.model_version == "1"
    for name in ("manifest.json", "preprocessing.json", "imagenet_name_table.npy", "single_selector.pt",
                 "global_selector.pt", "classifier.pt", "encoder.onnx", "encoder.int8.onnx"):
        assert (outcome.bundle_dir / name).exists(), name
    bundle = ModelBundle.load(outcome.bundle_dir)
    assert bundle.manifest.num_candidates == 12 and bundle.manifest.num_frames == 2
    expected_accuracy = outcome.test_results["smart"]["accuracy"]
    assert bundle.manifest.metrics["test_accuracy"] == pytest.approx(expected_accuracy, abs=1e-4)
    assert json.loads((root / "run" / "curation_report.json").read_text())["videos_seen"] > 0
    registered = resolve_bundle_dir("candidate", RegistrySettings(tracking_uri=f"sqlite:///{root / 'mlflow.db'}"),
                                    root / "download")
    assert ModelBundle.load(registered).classes == bundle.classes


@pytest.mark.slow
@pytest.mark.parametrize("selector", ["smart", "dense"])
def test_evaluate_cli_prints_one_json_line(tiny_run: tuple[TrainingOutcome, Path, float, Path], selector: str) -> None:
    outcome, data, _, root = tiny_run
    result = CliRunner().invoke(app, [
        "evaluate", "--data", str(data), "--model", str(outcome.bundle_dir), "--selector", selector,
        "--frames", "2", "--cache-dir", str(root / "features"),
    ])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["selector"] == selector and line["clips"] == 3 * TINY_CLASSES
    assert 0.0 <= line["accuracy"] <= 1.0 and 0.0 <= line["macro_f1"] <= 1.0
    assert line["frames_per_clip"] == (12 if selector == "dense" else 2)
    assert line["classifier_flops_per_clip"] > 0


@pytest.mark.slow
def test_export_cli_checks_parity(tiny_run: tuple[TrainingOutcome, Path, float, Path], tmp_path: Path) -> None:
    outcome = tiny_run[0]
    result = CliRunner().invoke(app, ["export", "--backend", "onnx-int8", "--model", str(outcome.bundle_dir),
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["parity"]["backend"] == "onnxruntime" and line["parity"]["precision"] == "int8"
    assert (tmp_path / "encoder.int8.onnx").exists()
    refused = CliRunner().invoke(app, ["export", "--backend", "tensorrt", "--model", str(outcome.bundle_dir),
                                       "--out", str(tmp_path)])
    assert refused.exit_code == 3
    assert "cannot export for TensorRT here" in refused.output and "actionstream[gpu]" in refused.output


@pytest.mark.slow
def test_evaluate_cli_refuses_an_unavailable_backend_clearly(
    tiny_run: tuple[TrainingOutcome, Path, float, Path],
) -> None:
    outcome, data, _, root = tiny_run
    result = CliRunner().invoke(app, [
        "evaluate", "--data", str(data), "--model", str(outcome.bundle_dir), "--backend", "tensorrt",
        "--precision", "fp16", "--cache-dir", str(root / "features"),
    ])
    assert result.exit_code == 3
    assert "is not available here" in result.output


@pytest.mark.slow
def test_the_bundle_holds_a_calibrated_drift_profile_and_loads_without_one(
        tiny_run: tuple[TrainingOutcome, Path, float, Path], tmp_path: Path) -> None:
    import shutil

    from models.bundle import DRIFT_PROFILE_DIR
    from models.representation import REPRESENTATION_DIM
    from processors.drift.references import read_reference

    outcome, _, _, _ = tiny_run
    reference = read_reference(outcome.bundle_dir, "smart/1")
    profile = reference.profile
    assert profile is not None and profile.kind == "training" and profile.name == "smart/1"
    assert sorted(profile.quality) == ["brightness", "delta", "sharpness"]
    assert profile.embeddings.shape[1] == REPRESENTATION_DIM and profile.embeddings.shape[0] >= 24
    assert all(np.isfinite(values).all() for values in profile.quality.values())
    assert profile.calibration is not None and profile.calibration.num_classes == TINY_CLASSES
    assert profile.calibration.nll_after <= profile.calibration.nll_before
    assert sum(profile.label_counts.values()) == profile.calibration.samples
    older = shutil.copytree(outcome.bundle_dir, tmp_path / "older", ignore=shutil.ignore_patterns(DRIFT_PROFILE_DIR))
    assert read_reference(older, "smart/0").profile is None
    assert ModelBundle.load(older).classes == reference.classes


@pytest.mark.slow
def test_drift_report_cli_prints_one_json_line(tiny_run: tuple[TrainingOutcome, Path, float, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    outcome, data, _, _ = tiny_run
    monkeypatch.chdir(tmp_path)  # reports and the feature cache go under var/ here
    against_profile = CliRunner().invoke(app, ["drift", "report", "--model", str(outcome.bundle_dir),
                                               "--data", str(data)])
    assert against_profile.exit_code == 0, against_profile.output
    line = json.loads(against_profile.stdout.strip().splitlines()[-1])
    assert isinstance(line["drift"], bool) and 0.0 <= line["share_drifted"] <= 1.0
    assert line["embedding_drift"] >= 0.0 and 0.0 < line["estimated_accuracy"] <= 1.0
    assert line["clips"] == 12 * TINY_CLASSES and all(Path(path).exists() for path in line["html"])
    against_itself = CliRunner().invoke(app, ["drift", "report", "--model", str(outcome.bundle_dir),
                                              "--data", str(data), "--reference", str(data)])
    assert against_itself.exit_code == 0, against_itself.output
    same = json.loads(against_itself.stdout.strip().splitlines()[-1])
    assert same["drift"] is False and same["share_drifted"] == 0.0
