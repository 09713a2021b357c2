"""One broker watch per process: Kafka clients' connection failures (librdkafka error callbacks and log
lines, aiokafka log lines) stop reaching the log and wake a probe thread instead; the state and its changes
are logged once each (streams/broker_health.py decides) and exported to Prometheus.

Wiring: `install_log_filter()` where a process configures logging, `MONITOR.watch(kafka)` at the entry point
of every long-running process, `rdkafka_error_cb` in every librdkafka client config (KafkaSettings does it).
A process that watches nothing (a one-shot command) keeps the clients' own lines.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from contextlib import suppress
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter, Gauge

from streams.broker_health import BrokerHealth, BrokerHealthSettings, Change, Report

if TYPE_CHECKING:
    from confluent_kafka import KafkaError

    from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)

# Exported from watch() on: a process that watches no broker has no reachability to report, and its 0 (a gauge's
# value before any set) fired BrokerUnreachable for the retrain and rollback processes at every demo start.
BROKER_REACHABLE = Gauge("actionstream_broker_reachable", "1 while this process reaches the Kafka broker.",
                         registry=None)
BROKER_OUTAGES = Counter("actionstream_broker_outages_total", "Times the broker became unreachable.")
SUPPRESSED_LINES = Counter("actionstream_kafka_client_log_suppressed_total",
                           "Kafka client log lines held back: the broker was unreachable.")

# Loggers of the Kafka clients and of the Faust runtime around them: while the broker is unreachable,
# whatever they log is a consequence of the outage.
_CLIENT_LOGGERS = frozenset({"aiokafka", "librdkafka", "faust", "mode"})
# Lines that say the broker cannot be reached, from aiokafka (client, fetcher, coordinator, sender) and
# librdkafka (FAIL is its connection-failure facility).
_CONNECTION_FAILURE = re.compile(
    r"Unable connect to node|Unable to update metadata|Unable to request metadata|NodeNotReadyError"
    r"|KafkaConnectionError|Connect call failed|coordinator dead|GroupCoordinatorNotAvailable"
    r"|^FAIL |brokers are down"
)
# A fresh or restarted broker's group and transaction coordinators load their topics for a few seconds, and its
# partitions have no leader until it has elected one; clients retry on their own (librdkafka's "GETPID ... Failed to
# acquire idempotence PID ...: Coordinator load in progress: retrying", and "METADATAUPDATE ... new leader-1 not
# found in cache" many times a second), so the lines are start-up detail, not warnings a person can act on.
_COORDINATOR_LOADING = re.compile(r"Coordinator load in progress|CoordinatorLoadInProgress|Not coordinator: retrying"
                                  r"|new leader-?\d+ not found in cache")
_RDKAFKA_PREFIX = re.compile(r"^[A-Z]+ \[[^]]*\] \[[^]]*\]: ")  # "FAIL [client#consumer-1] [thrd:...]: "


class BrokerMonitor:
    """Thread-safe: clients report failures from their own threads; a daemon thread probes the bootstrap
    servers (TCP connect) once per probe interval while a failure is recent or the broker unreachable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._servers: list[tuple[str, int]] = []
        self._settings = BrokerHealthSettings()
        self._health = BrokerHealth(self._settings.report_every_s)
        self._reason = ""
        self._thread: threading.Thread | None = None

    @property
    def watching(self) -> bool:
        return bool(self._servers)

    @property
    def reachable(self) -> bool:
        return self._health.reachable

    def settling(self) -> bool:
        return self._health.settling(time.monotonic())

    def watch(self, kafka: KafkaSettings) -> None:
        """Watch this cluster from now on (idempotent)."""
        with self._lock:
            self._servers = [_host_port(server) for server in kafka.bootstrap_servers.split(",") if server.strip()]
            self._settings = kafka.health
            self._health.report_every_s = kafka.health.report_every_s
            self._health.suspect_s = kafka.health.suspect_s
            self._health.settle_s = kafka.health.settle_s
            if self._thread is None:
                self._thread = threading.Thread(target=self._probe_forever, name="broker-monitor", daemon=True)
                self._thread.start()
        BROKER_REACHABLE.set(1 if self._health.reachable else 0)  # until a probe finds otherwise
        with suppress(ValueError):  # exported already (watch is idempotent)
            REGISTRY.register(BROKER_REACHABLE)

    def failed(self, reason: str) -> None:
        """A client could not reach the broker: probe for a while (the probes decide, so one client's blip
        alone never reports an outage)."""
        with self._lock:
            if self._health.reachable:
                self._reason = reason
            self._health.suspected(time.monotonic())
        self._wake.set()

    def suppressed(self) -> None:
        with self._lock:
            self._health.suppressed()
        SUPPRESSED_LINES.inc()

    def _probe_forever(self) -> None:
        while True:
            with self._lock:
                probing = self._health.probing(time.monotonic())
            if not probing:
                self._wake.wait()
                self._wake.clear()
                continue
            ok = self._probe()
            with self._lock:
                report = self._health.probed(time.monotonic(), ok, self._reason)
            if report is not None:
                self._publish(report)
            time.sleep(self._settings.probe_interval_s)

    def _probe(self) -> bool:
        for host, port in self._servers:
            try:
                with socket.create_connection((host, port), timeout=self._settings.probe_timeout_s):
                    return True
            except OSError:
                continue
        return False

    def _publish(self, report: Report) -> None:
        BROKER_REACHABLE.set(0 if report.change is not Change.REACHABLE else 1)
        if report.change is Change.UNREACHABLE:
            BROKER_OUTAGES.inc()
        (logger.info if report.change is Change.REACHABLE else logger.warning)(report.message())


MONITOR = BrokerMonitor()


class BrokerLogFilter(logging.Filter):
    """Holds back Kafka client lines about an unreachable broker, reporting the failure to the monitor
    instead; during an outage every client line, and while the clients settle after it their warnings. A
    client's retry against a coordinator that is still loading is a DEBUG line, watched or not."""

    def __init__(self, monitor: BrokerMonitor = MONITOR) -> None:
        super().__init__()
        self.monitor = monitor

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.partition(".")[0] not in _CLIENT_LOGGERS:
            return True
        message = record.getMessage()
        if _COORDINATOR_LOADING.search(message):
            return _as_debug(record)
        if not self.monitor.watching:
            return True
        if _CONNECTION_FAILURE.search(message):
            self.monitor.failed(_RDKAFKA_PREFIX.sub("", message)[:200])
        elif self.monitor.reachable:
            if record.levelno >= logging.ERROR or not self.monitor.settling():
                return True
            SUPPRESSED_LINES.inc()  # after the report that the broker is back: counted, not reported
            return False
        self.monitor.suppressed()
        return False


def _as_debug(record: logging.LogRecord) -> bool:
    """The record at DEBUG: kept (relabelled) only where its logger logs DEBUG lines."""
    if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
        return False
    record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
    return True


def install_log_filter(monitor: BrokerMonitor = MONITOR) -> None:
    """On every handler of the root logger: the filter sees every library's records, whichever logger."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, BrokerLogFilter) for existing in handler.filters):
            handler.addFilter(BrokerLogFilter(monitor))


def request_failed(error: KafkaError) -> None:
    """A client request (a transaction step, a commit) failed retriably: if for want of the broker (a connection
    error, or a timeout, which a stopped broker's coordinator gives too), the monitor probes. The clients' error
    callbacks may come late or not at all while a process is inside such a call, and the probes decide, so a
    slow broker alone reports nothing."""
    from confluent_kafka import KafkaError

    if MONITOR.watching and (_connection_error(error) or error.code() == KafkaError._TIMED_OUT):
        MONITOR.failed(error.str())


def _connection_error(error: KafkaError) -> bool:
    from confluent_kafka import KafkaError  # imported here: installing the log filter stays light

    return error.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._RESOLVE)


def rdkafka_error_cb(error: KafkaError) -> None:
    """librdkafka's error callback: connection errors go to the monitor, and during an outage every error is
    its consequence; otherwise to the log (connection errors at DEBUG: librdkafka logs them itself)."""
    connection = _connection_error(error)
    if MONITOR.watching and (connection or not MONITOR.reachable):
        if connection:
            MONITOR.failed(error.str())
        return
    logger.log(logging.DEBUG if connection else logging.WARNING, "kafka client error: %s", error)


def _host_port(server: str) -> tuple[str, int]:
    host, _, port = server.strip().rpartition(":")
    return host.strip("[]"), int(port)
