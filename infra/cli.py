"""`actionstream broker ...` and `actionstream rtsp ...`: the local Kafka broker and RTSP server."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from infra.kafka.broker import KafkaBroker
from infra.kafka.security import ADMIN_PROPERTIES_FILE
from infra.process import ServiceError
from infra.rtsp.publisher import FeedPublisher
from infra.rtsp.server import RtspServer
from infra.services import ensure_rtsp_server
from infra.settings import BrokerSettings, RtspServerSettings

broker_app = typer.Typer(help="The local one-node Kafka broker (KRaft).", no_args_is_help=True)
rtsp_app = typer.Typer(help="The local RTSP server that test and demo cameras stream through.", no_args_is_help=True)


class SecurityMode(StrEnum):
    PLAINTEXT = "plaintext"
    SCRAM = "scram"


def _fail(error: ServiceError) -> None:
    typer.secho(str(error), fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@broker_app.command("fetch")
def broker_fetch() -> None:
    """Download Kafka and its dependencies from Maven Central (once; later calls download nothing)."""
    try:
        typer.echo(KafkaBroker(BrokerSettings()).fetch())
    except ServiceError as error:
        _fail(error)


@broker_app.command("start")
def broker_start(
    security: SecurityMode = typer.Option(None, help="plaintext (the demo's default) or scram: SASL/SCRAM-SHA-512, "
                                          "ACLs, a super user whose client properties go to "
                                          "<state dir>/admin.properties."),
    tls: bool = typer.Option(None, "--tls/--no-tls", help="With scram: TLS with certificates from a local CA."),
) -> None:
    """Start the broker (fetching it first if needed) and wait until it accepts requests."""
    overrides = {key: value for key, value in {"security": security and security.value, "tls": tls}.items()
                 if value is not None}
    broker = KafkaBroker(BrokerSettings(**overrides))
    try:
        status = broker.start()
    except ServiceError as error:
        _fail(error)
    typer.echo(f"kafka running pid={status.pid} bootstrap={status.bootstrap_servers} mode={broker.security.mode} "
               f"log={status.log_file}")
    if broker.security.secure:
        typer.echo(f"super user properties: {broker.state_dir / ADMIN_PROPERTIES_FILE}")


@broker_app.command("stop")
def broker_stop() -> None:
    """Stop the broker cleanly."""
    stopped = KafkaBroker(BrokerSettings()).stop()
    typer.echo("kafka stopped" if stopped else "kafka was not running")


@broker_app.command("status")
def broker_status() -> None:
    """Say whether the broker runs; exit 1 when it does not."""
    status = KafkaBroker(BrokerSettings()).status()
    typer.echo(f"kafka {'running' if status.running else 'not running'} bootstrap={status.bootstrap_servers}")
    raise typer.Exit(code=0 if status.running else 1)


@broker_app.command("reset")
def broker_reset() -> None:
    """Stop the broker and delete its data."""
    KafkaBroker(BrokerSettings()).reset()
    typer.echo("kafka data deleted")


@rtsp_app.command("start")
def rtsp_start() -> None:
    """Build (once) and start the RTSP server."""
    try:
        status = RtspServer(RtspServerSettings()).start()
    except ServiceError as error:
        _fail(error)
    typer.echo(f"rtsp server running pid={status.pid} address={status.address} log={status.log_file}")


@rtsp_app.command("stop")
def rtsp_stop() -> None:
    """Stop the RTSP server."""
    stopped = RtspServer(RtspServerSettings()).stop()
    typer.echo("rtsp server stopped" if stopped else "rtsp server was not running")


@rtsp_app.command("status")
def rtsp_status() -> None:
    """Say whether the RTSP server runs; exit 1 when it does not."""
    status = RtspServer(RtspServerSettings()).status()
    typer.echo(f"rtsp server {'running' if status.running else 'not running'} address={status.address}")
    raise typer.Exit(code=0 if status.running else 1)


@rtsp_app.command("publish")
def rtsp_publish(
    source: Path = typer.Argument(..., help="H.264 video file to loop in real time.", exists=True),
    path: str = typer.Option(..., help="RTSP path to publish on, e.g. site-a/cam1."),
) -> None:
    """Publish a looping file on an RTSP path, in the background, as a stand-in IP camera."""
    settings = RtspServerSettings()
    publisher = FeedPublisher(settings, path, source)
    try:
        ensure_rtsp_server(start=True, settings=settings)
        publisher.start()
    except ServiceError as error:
        _fail(error)
    typer.echo(publisher.url)


def register(app: typer.Typer) -> None:
    app.add_typer(broker_app, name="broker")
    app.add_typer(rtsp_app, name="rtsp")
