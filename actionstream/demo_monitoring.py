"""The demo's monitoring: Prometheus and Alertmanager scraping the Procfile's processes, and the summary lines
of the alerts that fired during the run (as the project's receiver recorded them)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from infra.prometheus.stack import MonitoringStack


def start_monitoring(procfile: Path, metrics_port: int,
                     register: Callable[[str, MonitoringStack], None]) -> MonitoringStack | None:
    """Start the stack on the Procfile's metrics ports (`register` gets it to stop later, unless a part was
    already running: then it is the user's); None when Prometheus or Alertmanager is not installed."""
    from infra.prometheus.settings import MonitoringSettings
    from infra.prometheus.stack import MonitoringStack
    from infra.prometheus.targets import procfile_targets

    settings = MonitoringSettings()
    missing = [name for name in (settings.prometheus, settings.alertmanager) if shutil.which(name) is None]
    if missing:
        typer.echo(f"{' and '.join(missing)} not installed (`make system-deps`): the demo runs without alerts")
        return None
    stack = MonitoringStack(settings)
    ours = not any(component.running for component in stack.status())
    stack.start(procfile_targets(procfile, metrics_port))
    if ours:
        register("monitoring (Prometheus, Alertmanager, alert receiver)", stack)
    typer.echo(f"Prometheus on {settings.prometheus_url}, Alertmanager on {settings.alertmanager_url}")
    return stack


def alert_lines(stack: MonitoringStack | None, since: float) -> list[str]:
    """One line per alert that fired since `since`, first firing first."""
    if stack is None:
        return []
    alerts = stack.fired_alerts(since)
    if not alerts:
        return ["alerts fired: none"]
    lines = [f"alerts fired ({len(alerts)}; every notification in {stack.settings.notifications_file}):"]
    for alert in alerts:
        fired_at = time.strftime("%H:%M:%S", time.localtime(alert.received_at))
        lines.append(f"  {fired_at} {alert.alertname} [{alert.labels.get('severity', '')}]: {alert.summary}")
    return lines
