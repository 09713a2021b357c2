"""The drift job runs below the stream: its niceness is raised before any thread starts."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from actionstream.cli import app
from processors.drift import cli as drift_cli
from processors.drift import job as drift_job
from processors.drift import references
from streams.broker_monitor import MONITOR


class _Job:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def run(self, stop: Any) -> None:
        self.calls.append("run")


def test_the_job_lowers_its_priority_before_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(drift_cli, "lower_priority", lambda niceness: calls.append(f"nice {niceness}"))
    monkeypatch.setattr(MONITOR, "watch", lambda kafka: calls.append("watch"))
    monkeypatch.setattr(drift_job, "DriftJob", lambda settings, catalog: _Job(calls))
    monkeypatch.setattr(references, "BundleCatalog", lambda model: None)  # no registry needed
    monkeypatch.setenv("ACTIONSTREAM_JOB__CPU_NICE", "5")
    result = CliRunner().invoke(app, ["drift", "run", "--metrics-port", "0"])
    assert result.exit_code == 0, result.output
    assert calls == ["nice 5", "watch", "run"]
