"""The retrain worker loads the training stack and opens the registry before its first request."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from processors.retrain import job as job_module
from processors.retrain.job import RetrainJob
from processors.retrain.settings import RetrainSettings
from training.tracking import TrackingSettings

pytestmark = pytest.mark.slow  # MLflow


@pytest.fixture
def settings(tmp_path: Path) -> RetrainSettings:
    return RetrainSettings(tracking=TrackingSettings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
                                                     artifact_root=tmp_path / "art", registered_model="m"))


def test_preload_imports_the_training_stack(settings: RetrainSettings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        RetrainJob(settings).preload()
    assert "training.pipeline" in sys.modules and "mlflow" in sys.modules
    assert not caplog.records


def test_a_registry_that_fails_is_left_to_the_first_request(settings: RetrainSettings,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    def unreachable(*_: object) -> None:
        raise OSError("registry unreachable")

    monkeypatch.setattr(job_module, "alias_version", unreachable)
    with caplog.at_level(logging.WARNING):
        RetrainJob(settings).preload()
    assert [record.getMessage() for record in caplog.records] == ["could not preload the training stack"]
