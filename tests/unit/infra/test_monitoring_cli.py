"""`actionstream monitoring ...` through typer's CliRunner, on free ports and a temporary state directory."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.alerts.notifications import AlertRecord, append_records
from infra.prometheus.cli import monitoring_app

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"ACTIONSTREAM_MONITORING_STATE_DIR": str(tmp_path / "monitoring"),
            "ACTIONSTREAM_MONITORING_PROMETHEUS_PORT": str(free_port()),
            "ACTIONSTREAM_MONITORING_ALERTMANAGER_PORT": str(free_port()),
            "ACTIONSTREAM_MONITORING_RECEIVER_PORT": str(free_port())}


def test_start_status_stop(env: dict[str, str], tmp_path: Path) -> None:
    started = runner.invoke(monitoring_app, ["start", "--target", "selector=127.0.0.1:9"], env=env)
    try:
        assert started.exit_code == 0, started.output
        assert "prometheus running on http://127.0.0.1:" in started.output
        assert "scraping selector=127.0.0.1:9" in started.output
        targets = json.loads((tmp_path / "monitoring" / "targets.json").read_text())
        assert targets == [{"targets": ["127.0.0.1:9"], "labels": {"process": "selector"}}]
        status = runner.invoke(monitoring_app, ["status"], env=env)
        assert status.exit_code == 0, status.output
        assert status.output.count(" running ") == 3
    finally:
        stopped = runner.invoke(monitoring_app, ["stop"], env=env)
    assert stopped.output == "monitoring stopped\n"
    assert runner.invoke(monitoring_app, ["status"], env=env).exit_code == 1


def test_a_malformed_target_is_refused(env: dict[str, str]) -> None:
    result = runner.invoke(monitoring_app, ["start", "--target", "127.0.0.1:9464"], env=env)
    assert result.exit_code == 2
    assert "name=host:port" in result.output


def test_alerts_lists_what_fired_once(env: dict[str, str], tmp_path: Path) -> None:
    record = AlertRecord(received_at=time.time(), status="firing", alertname="CameraDown",
                         labels={"alertname": "CameraDown", "camera": "door", "severity": "critical"},
                         annotations={"summary": "camera lobby/door is down"}, starts_at="", ends_at="")
    (tmp_path / "monitoring").mkdir()
    append_records(tmp_path / "monitoring" / "notifications.jsonl", [record, record])
    result = runner.invoke(monitoring_app, ["alerts"], env=env)
    assert result.exit_code == 0
    [line] = result.output.splitlines()
    assert line.endswith(" CameraDown [critical]: camera lobby/door is down")
    assert runner.invoke(monitoring_app, ["alerts", "--minutes", "0"], env=env).output.startswith("no alert fired")


def test_monitoring_is_an_actionstream_command() -> None:
    from actionstream.cli import app

    result = runner.invoke(app, ["monitoring", "--help"])
    assert result.exit_code == 0, result.output
    assert all(command in result.output for command in ("start", "stop", "status", "alerts"))
