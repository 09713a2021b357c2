"""Prometheus and Alertmanager configuration files rendered from MonitoringSettings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra.prometheus.settings import MonitoringSettings
from infra.prometheus.targets import JOB

RECEIVER = "actionstream-webhook"


def _seconds(value: float) -> str:
    return f"{round(value * 1000)}ms"  # Prometheus durations take no fractions: 1.5s is written 1500ms


def prometheus_config(settings: MonitoringSettings) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": _seconds(settings.scrape_interval_s),
                   "evaluation_interval": _seconds(settings.evaluation_interval_s)},
        "rule_files": [str(path) for path in settings.rule_files()],
        "alerting": {"alertmanagers": [
            {"static_configs": [{"targets": [f"{settings.host}:{settings.alertmanager_port}"]}]}]},
        "scrape_configs": [{
            "job_name": JOB,
            # Prometheus watches the file; the refresh is a fallback where file events are lost.
            "file_sd_configs": [{"files": [str(settings.targets_file.resolve())], "refresh_interval": "5s"}],
        }],
    }


def alertmanager_config(settings: MonitoringSettings) -> dict[str, Any]:
    return {
        "global": {"resolve_timeout": _seconds(settings.resolve_timeout_s)},
        "route": {
            "receiver": RECEIVER,
            "group_by": ["alertname", "site", "camera", "stage", "process"],
            "group_wait": _seconds(settings.group_wait_s),
            "group_interval": _seconds(settings.group_interval_s),
            "repeat_interval": _seconds(settings.repeat_interval_s),
        },
        "receivers": [{"name": RECEIVER, "webhook_configs": [
            {"url": settings.receiver_url, "send_resolved": True}]}],
    }


def write_configs(settings: MonitoringSettings) -> tuple[Path, Path]:
    """prometheus.yml and alertmanager.yml in the state directory."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    prometheus = settings.state_dir / "prometheus.yml"
    prometheus.write_text(yaml.safe_dump(prometheus_config(settings), sort_keys=False))
    alertmanager = settings.state_dir / "alertmanager.yml"
    alertmanager.write_text(yaml.safe_dump(alertmanager_config(settings), sort_keys=False))
    return prometheus, alertmanager
