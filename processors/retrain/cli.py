"""`actionstream retrain run`: the retrain worker (Procfile process `retrain`); `actionstream retrain guard`: the
rollback guard (Procfile process `rollback`)."""

from __future__ import annotations

import threading

import typer

from processors.priority import lower_priority

retrain_app = typer.Typer(help="Retrain worker: candidates, champion/challenger, promotion.", no_args_is_help=True)


@retrain_app.command("run")
def retrain_run(
    metrics_port: int = typer.Option(-1, help="Prometheus port; 0: none; -1: settings (ACTIONSTREAM_METRICS_PORT)."),
) -> None:
    """Handle retrain requests one at a time until SIGTERM or Ctrl-C (honoured between requests; a request in
    hand finishes first, and a killed worker's request is taken up again by the next one)."""
    from processors.classifier_cli import stop_on_signals
    from processors.retrain.job import RetrainJob
    from processors.retrain.settings import RetrainSettings
    from processors.retrain.worker import RetrainWorker
    from streams.health import serve_health

    settings = RetrainSettings()
    # Before any thread starts: a thread inherits the niceness of the thread that creates it.
    lower_priority(settings.worker.cpu_nice)
    if metrics_port >= 0:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    if settings.metrics_port:
        serve_health(settings.metrics_port, "partitions")
    job = RetrainJob(settings)
    # Beside the worker's start, so readiness does not wait for it; a first request waits at the import lock.
    threading.Thread(target=job.preload, name="retrain-preload", daemon=True).start()
    with stop_on_signals() as stop:
        RetrainWorker(settings, job).run(stop)


@retrain_app.command("guard")
def retrain_guard(
    metrics_port: int = typer.Option(0, help="Port of /metrics, /healthz and /readyz; 0: none."),
) -> None:
    """Watch each promotion on live drift reports and roll it back to the parent version when the label-free
    estimate or observed accuracy drops below the parent's; runs until SIGTERM or Ctrl-C."""
    from processors.classifier_cli import stop_on_signals
    from processors.retrain.guard import GuardSettings, RollbackGuard
    from streams.health import serve_health

    if metrics_port:
        serve_health(metrics_port, "partitions")
    with stop_on_signals() as stop:
        RollbackGuard(GuardSettings()).run(stop)


def register(app: typer.Typer) -> None:
    app.add_typer(retrain_app, name="retrain")
