"""`actionstream bench stream-floor` on an untrained bundle and a tiny synthetic set with an idle class and its
truth: the plumbing and the JSON contract (the scoring itself is tests/unit/bench/test_stream_floor.py's)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from actionstream.cli import app
from models.bundle import Architecture, Manifest, ModelBundle, build_modules
from models.encoder import FrameEncoder
from models.export import ENCODER_ONNX, export_encoder_onnx
from models.preprocessing import Preprocessing
from training.rejection import FLOORS
from training.synth import SynthSettings, generate_dataset
from training.ucf101 import Ucf101Index

pytestmark = pytest.mark.slow


def test_stream_floor_bench_prints_every_floor_then_the_table_as_json(tmp_path: Path) -> None:
    torch.manual_seed(0)
    data = generate_dataset(SynthSettings(num_classes=2, clips_per_class=2, groups=2, width=64, height=48, fps=8.0,
                                          seconds=1.0, seed=7, idle_class=True), tmp_path / "data", progress=False)
    architecture = Architecture(global_hidden_dim=32, single_hidden_dim=32, shared_hidden_dim=16)
    classes = Ucf101Index.from_folder(data).classes
    single, global_, classifier = build_modules(architecture, num_classes=len(classes))
    manifest = Manifest(classes=classes, architecture=architecture, num_candidates=4, num_frames=2)
    name_table = np.random.default_rng(0).normal(size=(1000, 384)).astype(np.float32)
    bundle_dir = ModelBundle(manifest, Preprocessing(), name_table, single, global_, classifier.eval()).save(
        tmp_path / "bundle")
    export_encoder_onnx(FrameEncoder(), bundle_dir / ENCODER_ONNX)

    result = CliRunner().invoke(app, ["bench", "stream-floor", "--model", str(bundle_dir), "--data", str(data),
                                      "--orders", "2", "--cache-dir", str(tmp_path / "features")])

    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(FLOORS) + 1 and lines[0].startswith("floor 0.00: recall")
    final = json.loads(lines[-1])
    assert (final["bench"], final["orders"], final["bundle_floor"]) == ("stream-floor", 2, 0.0)  # no floor
    assert final["clips"] == len(Ucf101Index.from_folder(data).train) + len(Ucf101Index.from_folder(data).test)
    assert [row["floor"] for row in final["floors"]] == list(FLOORS)
    assert CliRunner().invoke(app, ["bench", "stream-floor", "--model", str(bundle_dir), "--data", str(data),
                                    "--subset", "val"]).exit_code != 0
