"""Disk caps of the monitoring stack: the alert notifications file (past its cap the newest alerts are kept)
and Prometheus's TSDB (its size flag)."""

from __future__ import annotations

from pathlib import Path

from infra.alerts.notifications import AlertRecord, append_records, read_records
from infra.prometheus.settings import MonitoringSettings
from infra.prometheus.stack import MonitoringStack


def _record(index: int) -> AlertRecord:
    return AlertRecord(received_at=1_764_000_000.0 + index, status="firing", alertname="DriftRaised",
                       labels={"camera": f"cam{index}"}, annotations={"summary": "x" * 100}, starts_at="", ends_at="")


def test_past_the_cap_the_oldest_alerts_go_and_the_newest_stay(tmp_path: Path) -> None:
    path = tmp_path / "notifications.jsonl"
    cap = 4096
    for index in range(100):
        append_records(path, [_record(index)], max_bytes=cap)
        assert path.stat().st_size <= cap
    received = [record.received_at for record in read_records(path)]
    assert received == sorted(received) and received[-1] == _record(99).received_at
    assert 5 <= len(received) < 100  # at least half the cap's worth of the newest lines


def test_without_a_cap_nothing_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "notifications.jsonl"
    for index in range(50):
        append_records(path, [_record(index)])
    assert len(read_records(path)) == 50


def test_the_stack_starts_the_receiver_and_prometheus_with_their_caps(tmp_path: Path) -> None:
    settings = MonitoringSettings(state_dir=tmp_path, notifications_max_bytes=123_456, retention_size="2GB")
    commands = MonitoringStack(settings)._commands(tmp_path / "p.yml", tmp_path / "a.yml")
    receiver = commands["alert-receiver"]
    assert receiver[receiver.index("--max-bytes") + 1] == "123456"
    assert "--storage.tsdb.retention.size=2GB" in commands["prometheus"]
