"""`actionstream monitoring start|stop|status|alerts`: the local Prometheus, Alertmanager and alert receiver."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from infra.prometheus.settings import PROCFILE, MonitoringSettings
from infra.prometheus.stack import MonitoringStack
from infra.prometheus.targets import ScrapeTarget, procfile_targets

monitoring_app = typer.Typer(help="Prometheus with the project's alert rules, Alertmanager, and the receiver "
                             "that records every alert notification.", no_args_is_help=True)


@monitoring_app.command("start")
def monitoring_start(
    target: list[str] = typer.Option([], help="A process to scrape as name=host:port (repeatable); replaces "
                                     "the Procfile's targets."),
    procfile: Path = typer.Option(PROCFILE, help="Procfile whose $PORT processes are scraped.", exists=True),
    base_port: int = typer.Option(9464, help="The port honcho was started with (`honcho start -p PORT`)."),
) -> None:
    """Start what is not running and (re)write the scrape targets; Prometheus picks them up without a restart."""
    from infra.process import ServiceError

    settings = MonitoringSettings()
    try:
        targets = [ScrapeTarget.parse(entry) for entry in target] or procfile_targets(procfile, base_port)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--target") from error
    try:
        components = MonitoringStack(settings).start(targets)
    except ServiceError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from error
    for component in components:
        typer.echo(f"{component.name} running on {component.url} (log {component.log_file})")
    typer.echo(f"scraping {', '.join(f'{t.process}={t.address}' for t in targets)}")


@monitoring_app.command("stop")
def monitoring_stop() -> None:
    """Stop Prometheus, Alertmanager and the receiver."""
    stopped = MonitoringStack(MonitoringSettings()).stop()
    typer.echo("monitoring stopped" if stopped else "monitoring was not running")


@monitoring_app.command("status")
def monitoring_status() -> None:
    """Say whether each part runs and how Prometheus sees each target; exit 1 when a part is down."""
    stack = MonitoringStack(MonitoringSettings())
    components = stack.status()
    for component in components:
        typer.echo(f"{component.name} {'running' if component.running else 'not running'} {component.url}")
    if components[-1].running:  # Prometheus
        for process, health in sorted(stack.target_health().items()):
            typer.echo(f"target {process}: {health}")
    raise typer.Exit(code=0 if all(component.running for component in components) else 1)


@monitoring_app.command("alerts")
def monitoring_alerts(
    minutes: float = typer.Option(60.0, help="Alerts that fired in the last this many minutes."),
) -> None:
    """Every alert that fired (as recorded by the receiver), resolved ones included."""
    alerts = MonitoringStack(MonitoringSettings()).fired_alerts(since=time.time() - minutes * 60)
    if not alerts:
        typer.echo(f"no alert fired in the last {minutes:g} minutes")
    for alert in alerts:
        fired_at = time.strftime("%H:%M:%S", time.localtime(alert.received_at))
        typer.echo(f"{fired_at} {alert.alertname} [{alert.labels.get('severity', '')}]: {alert.summary}")


def register(app: typer.Typer) -> None:
    app.add_typer(monitoring_app, name="monitoring")
