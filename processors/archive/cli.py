"""`actionstream archive sink|export`: keep every window's candidate frames for the label horizon, and turn
labelled (or drift-flagged) windows into a training-ready set."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

archive_app = typer.Typer(help="The frame archive: windows kept for late labels, exported for retraining.",
                          no_args_is_help=True)


def parse_time(text: str) -> float:
    """Epoch seconds, or an ISO 8601 date-time (UTC unless it names a zone)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is neither epoch seconds nor an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@archive_app.command("sink")
def archive_sink(
    metrics_port: int = typer.Option(-1, help="Prometheus port; 0: none; -1: settings (ACTIONSTREAM_METRICS_PORT)."),
) -> None:
    """Store scored frames, outcomes and labels in segment files until SIGTERM; evict past the horizon and cap."""
    from processors.archive.settings import ArchiveSettings
    from processors.archive.sink import ArchiveSink
    from processors.classifier_cli import stop_on_signals
    from streams.broker_monitor import MONITOR
    from streams.health import serve_health

    settings = ArchiveSettings()
    if metrics_port >= 0:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    with stop_on_signals() as stop:
        if settings.metrics_port:
            serve_health(settings.metrics_port, "partitions")
        MONITOR.watch(settings.kafka)
        ArchiveSink(settings).run(stop)


@archive_app.command("export")
def archive_export(
    site: str = typer.Option(..., help="Site whose windows to export."),
    out: Path = typer.Option(..., help="Output folder (must be empty or absent)."),
    since: str = typer.Option("", help="Windows starting at or after this time (epoch seconds or ISO 8601)."),
    until: str = typer.Option("", help="Windows starting before this time (epoch seconds or ISO 8601)."),
    cameras: list[str] = typer.Option([], "--cameras", help="Only these cameras (repeat the option); default all."),
    flagged: Path | None = typer.Option(None, help="File of event ids (one a line) flagged by drift: exported as "
                                        "unlabelled candidates when no label reached them."),
) -> None:
    """Write labelled windows as a UCF101-layout folder plus their X_i; print the summary as JSON."""
    from processors.archive.export import export_training_set
    from processors.archive.settings import ArchiveSettings

    flagged_ids = [line.strip() for line in flagged.read_text().splitlines() if line.strip()] if flagged else []
    summary = export_training_set(ArchiveSettings(), site, out, since=parse_time(since) if since else None,
                                  until=parse_time(until) if until else None, cameras=cameras or None,
                                  flagged=flagged_ids)
    typer.echo(json.dumps(summary.as_json()))


def register(app: typer.Typer) -> None:
    app.add_typer(archive_app, name="archive")
