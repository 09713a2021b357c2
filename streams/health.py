"""Liveness and readiness beside /metrics, on a process's metrics port.

- `GET /healthz`: 200 while the process serves requests (a wedged or dead process does not answer).
- `GET /readyz`: 200 once every readiness check the entry point required has passed, 503 before, with a JSON
  body naming each check: e.g. `model` (the served model is loaded) and `partitions` (the consumer group's
  assignment arrived, with its state restored where the process keeps state). A worker that the group left
  without partitions (more workers than partitions) is ready: it is a hot standby.
- `GET /metrics`: the Prometheus page, as prometheus_client's own server serves it; behind basic authentication
  when the platform's HTTP credential is configured (streams/http_auth.py). The two health paths stay open: they
  name checks only.

Like the broker monitor, one HEALTH per process: the entry point requires checks and serves them, the code that
knows (a consumer's assignment callback, a model loader) marks them passed.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

import click
from prometheus_client import MetricsHandler

from streams.http_auth import CHALLENGE, BasicAuth, HttpAuthSettings
from streams.settings import StreamsSettings

logger = logging.getLogger(__name__)

LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"


class HttpCredentialMissing(click.ClickException):
    """A secured cluster without the platform's HTTP credential; a ClickException, so the command prints its one-line
    reason and exits 1 instead of a traceback."""


def _cluster_is_secured() -> bool:
    """Whether this process talks to a secured cluster, read from the environment every process's settings read."""
    return StreamsSettings().kafka.security_protocol != "PLAINTEXT"


class Health:
    """Readiness checks of one process; each starts failed and passes when its owner says so."""

    def __init__(self) -> None:
        self._checks: dict[str, bool] = {}
        self._probes: dict[str, Callable[[], bool]] = {}  # checks asked again at every request
        self._lock = threading.Lock()

    def require(self, *names: str) -> None:
        with self._lock:
            for name in names:
                self._checks.setdefault(name, False)

    def probe(self, name: str, check: Callable[[], bool]) -> None:
        """A check that can pass and fail again (e.g. the broker is reachable), asked at every request."""
        with self._lock:
            self._probes[name] = check

    def passed(self, name: str) -> None:
        """Mark a required check passed, for good; a check nobody required is ignored."""
        with self._lock:
            if self._checks.get(name) is False:
                self._checks[name] = True
                logger.info("readiness check %s passed", name)

    def on_assign(self, _consumer: Any, _partitions: list[Any]) -> None:
        """A confluent-kafka `on_assign` callback: the group's assignment arrived."""
        self.passed("partitions")

    def report(self) -> tuple[bool, dict[str, bool]]:
        with self._lock:
            checks = dict(self._checks)
            probes = dict(self._probes)
        checks.update({name: bool(check()) for name, check in probes.items()})
        return all(checks.values()), checks


HEALTH = Health()


class _Handler(MetricsHandler):
    """prometheus_client's /metrics handler with the two health paths in front of it."""

    health: Health = HEALTH
    auth: BasicAuth | None = None

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == LIVENESS_PATH:
            self._reply(200, {"live": True})
        elif path == READINESS_PATH:
            ready, checks = self.health.report()
            self._reply(200 if ready else 503, {"ready": ready, "checks": checks})
        elif self.auth is not None and self.auth.authenticate(self.headers.get("Authorization")) is None:
            self._reply(401, {"error": "authentication required"}, {"WWW-Authenticate": CHALLENGE})
        else:
            super().do_GET()

    def _reply(self, status: int, document: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds are not news: no access log."""


class _HealthServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up before its reply (a scraper past its timeout while a busy or low-priority process
        answered) is not an error of this process: no traceback. Anything else is logged with its traceback."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            logger.debug("health: %s hung up before its reply", client_address)
            return
        logger.warning("health: a request from %s failed", client_address, exc_info=True)


def serve_health(port: int, *required: str, health: Health = HEALTH,
                 auth: BasicAuth | HttpAuthSettings | None = None) -> ThreadingHTTPServer:
    """Serve /healthz, /readyz and /metrics on `port` from a daemon thread (replaces prometheus_client's
    start_http_server); `required` are the readiness checks this process waits for. `auth` guards /metrics;
    None: the platform credential of the environment (HttpAuthSettings), which every entry point shares."""
    health.require(*required)
    if not isinstance(auth, BasicAuth):
        auth = (auth or HttpAuthSettings()).basic_auth()
        if auth is None and _cluster_is_secured():
            # Fail closed: a secured cluster with an open /metrics page would show every site's camera names.
            raise HttpCredentialMissing(
                "the Kafka cluster is secured but no HTTP credential is set, so /metrics would be open: set "
                "ACTIONSTREAM_HTTP_AUTH__PASSWORD_FILE (or ACTIONSTREAM_HTTP_AUTH__PASSWORD)")
    handler = type("HealthHandler", (_Handler,), {"health": health, "auth": auth})
    server = _HealthServer(("", port), handler)
    threading.Thread(target=server.serve_forever, name=f"health-{port}", daemon=True).start()
    return server
