"""`actionstream topics ...`, `actionstream cameras run`, `actionstream schemas export`."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from pathlib import Path

import typer

from streams.schemas import PUBLISHED_EVENTS
from streams.settings import StreamsSettings

logger = logging.getLogger(__name__)

topics_app = typer.Typer(help="The topic catalogue.", no_args_is_help=True)
cameras_app = typer.Typer(help="Camera adapters: cameras into Kafka.", no_args_is_help=True)
schemas_app = typer.Typer(help="The wire contract.", no_args_is_help=True)


def _ensure_broker(settings: StreamsSettings, start: bool) -> None:
    from infra.process import ServiceError
    from infra.services import ensure_broker

    try:
        ensure_broker(settings.kafka.bootstrap_servers, start=start)
    except ServiceError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None


@topics_app.command("create")
def topics_create(
    site: list[str] = typer.Option(["site-a"], "--site", help="Site whose per-site topics to create (repeatable)."),
    start_broker: bool = typer.Option(True, help="Start the local broker if it is not running."),
) -> None:
    """Create or update every catalogue topic (idempotent)."""
    from streams.topics import ensure_topics

    settings = StreamsSettings()
    _ensure_broker(settings, start_broker)
    for change in ensure_topics(settings.kafka, site, retention=settings.retention):
        typer.echo(f"{change.action:<9} {change.name}")


@topics_app.command("list")
def topics_list(
    site: list[str] = typer.Option(["site-a"], "--site", help="Site to list per-site topics for (repeatable)."),
) -> None:
    """Print the catalogue: name, partitions, retention, max message size."""
    from streams.topics import catalogue_topics

    prefix = StreamsSettings().kafka.topic_prefix
    for name, spec in catalogue_topics(site, prefix).items():
        retention = "compact" if spec.retention_ms is None else f"{spec.retention_ms / 3_600_000:g}h"
        typer.echo(f"{name:<28} partitions={spec.partitions:<3} retention={retention:<8} "
                   f"max={spec.max_message_bytes // 1024}KiB  {spec.description}")


@cameras_app.command("run")
def cameras_run(
    config: Path = typer.Option(..., "--config", "-c", exists=True, help="Cameras file (YAML)."),
    seconds: float | None = typer.Option(None, help="Stop after this many seconds (default: run until killed)."),
    start_broker: bool = typer.Option(True, help="Start the local broker if it is not running."),
    report_every: float = typer.Option(2.0, help="Seconds between live lines."),
    create_topics: bool = typer.Option(None, "--create-topics/--no-create-topics", help="Create or update the "
                                       "catalogue's topics first; default: on an open (PLAINTEXT) cluster only, "
                                       "since a site on a secure one may not (`actionstream sites add` did it)."),
) -> None:
    """Stream every camera of a site into frames.<site> until stopped."""
    from streams.broker_monitor import MONITOR
    from streams.cameras.adapter import CameraAdapter
    from streams.cameras.config import load_site_config
    from streams.cameras.registry import CameraError, check_camera
    from streams.cameras.report import LiveReport, summary_lines
    from streams.health import HEALTH, serve_health
    from streams.topics import ensure_topics

    settings = StreamsSettings()
    site_config = load_site_config(config)
    try:
        for camera in site_config.cameras:
            check_camera(camera)
    except CameraError as error:
        raise typer.BadParameter(str(error), param_hint="--config") from None
    _ensure_broker(settings, start_broker)
    open_cluster = settings.kafka.security_protocol == "PLAINTEXT"
    if open_cluster if create_topics is None else create_topics:
        ensure_topics(settings.kafka, [site_config.site], retention=settings.retention)
    if settings.metrics_port:
        serve_health(settings.metrics_port)
    MONITOR.watch(settings.kafka)
    HEALTH.probe("broker", lambda: MONITOR.reachable)  # an adapter is ready while it can publish
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    live = LiveReport()
    started = time.monotonic()
    stats = CameraAdapter(site_config, settings).run(
        duration_s=seconds,
        report=lambda s, elapsed: typer.echo("\n".join(live.lines(s, elapsed))),
        report_every_s=report_every,
        stop_event=stop,
    )
    typer.echo("\n".join(summary_lines(stats, time.monotonic() - started)))


@schemas_app.command("export")
def schemas_export(
    out: Path = typer.Option(Path("schemas"), help="Folder to write the JSON Schema files into."),
) -> None:
    """Write the JSON Schema of every event published for downstream teams."""
    out.mkdir(parents=True, exist_ok=True)
    for file_name, event in PUBLISHED_EVENTS.items():
        schema = event.model_json_schema(by_alias=True)
        (out / file_name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        typer.echo(out / file_name)


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")
    app.add_typer(cameras_app, name="cameras")
    app.add_typer(schemas_app, name="schemas")
