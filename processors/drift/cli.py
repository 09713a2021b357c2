"""`actionstream drift run|report`: the drift job, and the same checks offline on a video folder."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from processors.priority import lower_priority

drift_app = typer.Typer(help="Drift of cameras against the model's training profile and their own baselines.",
                        no_args_is_help=True)


@drift_app.command("run")
def drift_run(
    model: str = typer.Option("", help="Model reference (alias, models:/ URI or directory); default: settings."),
    metrics_port: int = typer.Option(-1, help="Prometheus port; 0: none; -1: settings (ACTIONSTREAM_METRICS_PORT)."),
) -> None:
    """Check scored frames, outcomes and labels until SIGTERM; publish drift reports and retrain requests."""
    from processors.classifier_cli import stop_on_signals
    from processors.drift.job import DriftJob
    from processors.drift.job_settings import DriftJobSettings
    from processors.drift.references import BundleCatalog
    from streams.broker_monitor import MONITOR
    from streams.health import serve_health

    settings = DriftJobSettings()
    lower_priority(settings.job.cpu_nice)  # before any thread starts: threads inherit the niceness of their creator
    if metrics_port >= 0:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    if model:
        settings = settings.model_copy(update={"model": settings.model.model_copy(update={"reference": model})})
    with stop_on_signals() as stop:
        if settings.metrics_port:
            serve_health(settings.metrics_port, "partitions")
        MONITOR.watch(settings.kafka)
        DriftJob(settings, BundleCatalog(settings.model)).run(stop)


@drift_app.command("report")
def drift_report(
    model: str = typer.Option("production", "--model", help="Bundle directory, registry alias or models:/ URI."),
    data: Path = typer.Option(..., "--data", help="UCF101-layout folder to check (every video of the split)."),
    reference: Path | None = typer.Option(None, "--reference", help="UCF101-layout folder to compare with instead "
                                          "of the model's training profile."),
    split: int = typer.Option(1, "--split", help="Official split number 1-3."),
) -> None:
    """Print one JSON line: drift verdict, share of drifted quality columns, embedding drift (MMD^2), label-free
    accuracy estimate, and the HTML reports' paths."""
    from processors.drift.job_settings import DriftJobSettings
    from training.drift_profile import folder_report

    settings = DriftJobSettings()
    summary = folder_report(model, data, reference, split, settings.model.registry, settings.drift, settings.reports)
    typer.echo(json.dumps(summary))


def register(app: typer.Typer) -> None:
    app.add_typer(drift_app, name="drift")
