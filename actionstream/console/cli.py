"""`actionstream console [--port P]`: serve the web console on localhost until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from types import FrameType

import typer

logger = logging.getLogger(__name__)

PROCFILE_PROCESS = "console"  # the console's process name in the Procfile


def console_url(procfile: Path, base_port: int) -> str | None:
    """Where the Procfile's console listens when honcho runs it with `-p base_port`; None: no console process."""
    from infra.prometheus.targets import procfile_targets  # honcho's port numbering, in one place

    ports = {target.process: target.address for target in procfile_targets(procfile, base_port)}
    return f"http://{ports[PROCFILE_PROCESS]}" if PROCFILE_PROCESS in ports else None


def console(
    port: int = typer.Option(0, help="HTTP port; 0: settings (ACTIONSTREAM_CONSOLE__PORT, default 8050)."),
) -> None:
    """Serve the live console: cameras, action feed, drift, models and charts. Read-only unless
    ACTIONSTREAM_CONSOLE__ADMIN_TOKEN is set."""
    import uvicorn

    from actionstream.console.app import ConsoleApp
    from actionstream.console.feed import ConsoleFeed
    from actionstream.console.live import LiveHub
    from actionstream.console.settings import ConsoleSettings
    from actionstream.console.state import ConsoleState
    from streams.broker_monitor import MONITOR
    from streams.health import HEALTH

    settings = ConsoleSettings()
    if port:
        settings = settings.model_copy(update={"console": settings.console.model_copy(update={"port": port})})
    options = settings.console
    if settings.kafka.security_protocol != "PLAINTEXT" and settings.http_auth.secret() is None:
        # Fail closed: a secure cluster's console would otherwise show every site to anyone who reaches it.
        raise typer.BadParameter("the cluster is secured but the console has no login: set "
                                 "ACTIONSTREAM_HTTP_AUTH__PASSWORD_FILE (or ACTIONSTREAM_HTTP_AUTH__PASSWORD)")
    MONITOR.watch(settings.kafka)  # broker outages logged and exported like every long-running process
    state = ConsoleState(options.thumbnails, options.recent_events, options.recent_updates)
    hub = LiveHub()
    # Ready while the broker answers and the feed reads its topics (/readyz, as every long-running process).
    HEALTH.probe("broker", lambda: MONITOR.reachable)
    HEALTH.probe("feed", lambda: state.kafka_error is None)
    app = ConsoleApp(settings, state, hub, ConsoleFeed(settings, state, hub)).asgi()
    # uvicorn's start-up lines and per-request access log are noise here; errors still show.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    mode = "read-only" if options.read_only else "promotions allowed with the admin token"
    if settings.http_auth.secret() is not None or options.site_passwords:
        mode += f", login required ({len(options.site_passwords)} site users)"
    logger.info("console on http://%s:%d (%s)", options.host, options.port, mode)
    # uvicorn re-raises the signal that stopped it once its graceful shutdown is done: with this handler the
    # re-raised SIGTERM or SIGINT ends the process normally (exit 0, a clean stop to honcho; no Ctrl-C traceback).
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _stopped)
    uvicorn.run(app, host=options.host, port=options.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=options.shutdown_grace_s)


def _stopped(signum: int, _frame: FrameType | None) -> None:
    logger.info("console stopped (%s)", signal.Signals(signum).name)


def register(app: typer.Typer) -> None:
    app.command("console")(console)
