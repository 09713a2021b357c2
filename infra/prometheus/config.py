"""Prometheus and Alertmanager configuration files rendered from MonitoringSettings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from infra.prometheus.settings import MonitoringSettings
from infra.prometheus.targets import JOB

RECEIVER = "actionstream-webhook"
SCRAPE_PASSWORD_FILE = "scrape.password"  # in the state directory, when the password came from the environment


def _seconds(value: float) -> str:
    return f"{round(value * 1000)}ms"  # Prometheus durations take no fractions: 1.5s is written 1500ms


def prometheus_config(settings: MonitoringSettings, password_file: Path | None = None) -> dict[str, Any]:
    """`password_file`: the scrapes send basic authentication with the password read from that file (Prometheus
    reads it at each scrape), so the secret is never written into prometheus.yml."""
    job: dict[str, Any] = {
        "job_name": JOB,
        # Prometheus watches the file; the refresh is a fallback where file events are lost.
        "file_sd_configs": [{"files": [str(settings.targets_file.resolve())], "refresh_interval": "5s"}],
    }
    if password_file is not None:
        job["basic_auth"] = {"username": settings.http_auth.username, "password_file": str(password_file.resolve())}
    return {
        "global": {"scrape_interval": _seconds(settings.scrape_interval_s),
                   "evaluation_interval": _seconds(settings.evaluation_interval_s)},
        "rule_files": [str(path) for path in settings.rule_files()],
        "alerting": {"alertmanagers": [
            {"static_configs": [{"targets": [f"{settings.host}:{settings.alertmanager_port}"]}]}]},
        "scrape_configs": [job],
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


def scrape_password_file(settings: MonitoringSettings) -> Path | None:
    """The file Prometheus reads the scrape password from: the configured password file, or an owner-only copy
    of a password given in the environment; None when the endpoints are open."""
    auth = settings.http_auth
    secret = auth.secret()
    if secret is None:
        return None
    if auth.password_file is not None:
        return auth.password_file
    path = settings.state_dir / SCRAPE_PASSWORD_FILE
    path.unlink(missing_ok=True)  # created afresh so that the mode below holds from the first byte
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret.get_secret_value())
    return path


def write_configs(settings: MonitoringSettings) -> tuple[Path, Path]:
    """prometheus.yml and alertmanager.yml in the state directory."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    prometheus = settings.state_dir / "prometheus.yml"
    config = prometheus_config(settings, scrape_password_file(settings))
    prometheus.write_text(yaml.safe_dump(config, sort_keys=False))
    alertmanager = settings.state_dir / "alertmanager.yml"
    alertmanager.write_text(yaml.safe_dump(alertmanager_config(settings), sort_keys=False))
    return prometheus, alertmanager
