"""Progress bars only on a terminal: in a log file each update is one more line of the same growing bar."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from actionstream.cli import app


def test_mlflow_download_bars_are_off_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    result = CliRunner().invoke(app, ["bench", "pipeline", "--help"])  # the root callback runs first
    assert result.exit_code == 0
    assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "false"
