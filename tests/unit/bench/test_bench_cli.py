"""`actionstream bench selection|encoder` on an untrained bundle and a tiny synthetic set: the plumbing,
the truth-mask accounting and the JSON contract (accuracy itself is the training tests' business)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from actionstream.cli import app
from bench.encoder import Int8Targets
from models.bundle import Architecture, Manifest, ModelBundle, build_modules
from models.encoder import FrameEncoder
from models.export import ENCODER_INT8_ONNX, ENCODER_ONNX, export_encoder_onnx
from models.preprocessing import Preprocessing
from models.quantization import quantize_encoder_int8
from training.synth import SynthSettings, generate_dataset
from training.ucf101 import Ucf101Index

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle_and_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("bench")
    data = generate_dataset(SynthSettings(num_classes=2, clips_per_class=4, groups=2, width=64, height=48, fps=8.0,
                                          seconds=1.5, seed=7), root / "data", progress=False)
    architecture = Architecture(global_hidden_dim=32, single_hidden_dim=32, shared_hidden_dim=16)
    single, global_, classifier = build_modules(architecture, num_classes=2)
    rng = np.random.default_rng(0)
    classes = Ucf101Index.from_folder(data).classes
    manifest = Manifest(classes=classes, architecture=architecture, num_candidates=8, num_frames=2)
    bundle = ModelBundle(manifest, Preprocessing(), rng.normal(size=(1000, 384)).astype(np.float32), single,
                         global_, classifier.eval())
    bundle_dir = bundle.save(root / "bundle")
    export_encoder_onnx(FrameEncoder(), bundle_dir / ENCODER_ONNX)
    calibration = Preprocessing()(rng.integers(0, 256, size=(4, 64, 64, 3), dtype=np.uint8))
    quantize_encoder_int8(bundle_dir / ENCODER_ONNX, bundle_dir / ENCODER_INT8_ONNX, calibration)
    return bundle_dir, data


def test_selection_bench_ends_with_the_issue_json(bundle_and_data: tuple[Path, Path], tmp_path: Path) -> None:
    bundle_dir, data = bundle_and_data
    result = CliRunner().invoke(app, ["bench", "selection", "--model", str(bundle_dir), "--data", str(data),
                                      "--frames", "2", "--frames", "4", "--candidates", "8",
                                      "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    final = json.loads(lines[-1])
    assert final["bench"] == "selection" and final["T"] == 8 and final["n"] == 4
    strategies = {"smart", "uniform", "random", "dense", "single", "global"}
    assert set(final["acc"]) == set(final["in_burst"]) == set(final["macro_f1"]) == strategies
    assert all(0.0 <= value <= 1.0 for value in final["in_burst"].values())
    assert final["flops_dense_over_smart"] == pytest.approx(8 / 4)
    # shared classifier: smart encodes all T and adds selectors, uniform encodes only its n frames
    assert final["window_gflops"]["smart"] > final["window_gflops"]["dense"] > final["window_gflops"]["uniform"]
    assert "total GFLOPs/window" in result.stdout
    assert json.loads(lines[-2])["n"] == 2


def test_encoder_bench_times_three_backends(bundle_and_data: tuple[Path, Path], tmp_path: Path) -> None:
    bundle_dir, data = bundle_and_data
    result = CliRunner().invoke(app, ["bench", "encoder", "--model", str(bundle_dir), "--data", str(data),
                                      "--batch", "4", "--repeats", "1", "--threads", "1",
                                      "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["bench"] == "encoder"
    assert set(line["img_per_s"]) == {"torch_fp32", "onnxruntime_fp32", "onnxruntime_int8"}
    assert all(speed > 0 for speed in line["img_per_s"].values())
    assert 0.0 <= line["int8_top1_agreement_imagenet"] <= 1.0
    assert line["int8_speedup_over_onnx_fp32"] > 0 and isinstance(line["int8_meets_target"], bool)
    low, high = line["int8_speedup_spread"]
    assert low <= line["int8_speedup_over_onnx_fp32"] <= high
    cpu_low, cpu_high = line["int8_cpu_speedup_spread"]
    assert 0 < cpu_low <= line["int8_cpu_speedup_over_onnx_fp32"] <= cpu_high
    assert line["int8_recipe"]["calibration_frames"] == 4
    assert set(line["smart_accuracy"]) == {"fp32", "int8"}
    assert "ImageNet top-1 agreement" in result.stdout  # the readable summary before the JSON line


def test_bench_refuses_a_family_the_model_was_not_trained_on(bundle_and_data: tuple[Path, Path],
                                                              tmp_path: Path) -> None:
    bundle_dir, _ = bundle_and_data
    result = CliRunner().invoke(app, ["bench", "selection", "--model", str(bundle_dir), "--family", "articulated",
                                      "--data", str(tmp_path / "bench")])
    assert result.exit_code != 0
    assert "not those of the articulated family" in result.output
    assert not (tmp_path / "bench").exists()


def test_int8_target_needs_agreement_cpu_speedup_and_accuracy() -> None:
    targets = Int8Targets()
    assert targets.met_by(top1_agreement=0.92, cpu_speedup=1.52, accuracy_drop=0.0)
    assert not targets.met_by(top1_agreement=0.89, cpu_speedup=1.52, accuracy_drop=0.0)
    assert not targets.met_by(top1_agreement=0.92, cpu_speedup=1.25, accuracy_drop=0.0)
    assert not targets.met_by(top1_agreement=0.92, cpu_speedup=1.52, accuracy_drop=0.02)


def test_a_killed_bench_runs_its_cleanup() -> None:
    """SIGTERM goes through the bench's finally blocks (which stop its broker, RTSP server and workers)."""
    import subprocess
    import sys

    script = ("import os, signal\n"
              "from bench.cli import _stop_cleanly_on_sigterm\n"
              "_stop_cleanly_on_sigterm()\n"
              "try:\n"
              "    os.kill(os.getpid(), signal.SIGTERM)\n"
              "    signal.pause()\n"
              "except KeyboardInterrupt:\n"
              "    pass\n"
              "finally:\n"
              "    print('services stopped')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False)
    assert result.stdout.strip() == "services stopped", result.stderr
