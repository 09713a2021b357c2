"""The retrain worker runs below the stream: its niceness is raised before any thread starts, and training and
evaluation run at the worker's thread count."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from actionstream.cli import app
from processors.retrain import cli as retrain_cli
from processors.retrain.data import MergedData
from processors.retrain.job import RetrainJob
from processors.retrain.settings import RetrainOptions, RetrainSettings, WorkerOptions
from processors.retrain.worker import RetrainWorker


def test_the_worker_lowers_its_priority_before_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(retrain_cli, "lower_priority", lambda niceness: calls.append(f"nice {niceness}"))
    monkeypatch.setattr(RetrainWorker, "run", lambda self, stop: calls.append("run"))
    monkeypatch.setenv("ACTIONSTREAM_WORKER__CPU_NICE", "7")
    result = CliRunner().invoke(app, ["retrain", "run", "--metrics-port", "0"])
    assert result.exit_code == 0, result.output
    assert calls == ["nice 7", "run"]


def _merged(tmp_path: Path) -> MergedData:
    return MergedData(root=tmp_path, classes=["Run"], train_videos=1, labelled_videos=0, base_test=[],
                      labelled_test=[], base_check=[])


@pytest.mark.parametrize(("threads", "expected"), [(1, 1), (3, 3), (0, 2)])
def test_training_encodes_at_the_workers_thread_count(tmp_path: Path, threads: int, expected: int) -> None:
    settings = RetrainSettings(worker=WorkerOptions(threads=threads),
                               retrain=RetrainOptions(train_overrides=["features.num_threads=2"]))
    config = RetrainJob(settings)._train_config(_merged(tmp_path))
    assert config.features.num_threads == expected  # 0: the training config's own count stands
    assert config.data.root == tmp_path
