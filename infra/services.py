"""Make sure the services a command needs are up: start the local ones, or fail at once saying how."""

from __future__ import annotations

from infra.kafka.broker import KafkaBroker
from infra.process import ServiceError, port_is_open
from infra.rtsp.server import RtspServer
from infra.settings import BrokerSettings, RtspServerSettings


def ensure_broker(bootstrap_servers: str, start: bool = True, settings: BrokerSettings | None = None) -> None:
    """Start this project's local broker when `bootstrap_servers` points at it and it is down; for any
    other cluster, check that the first bootstrap server answers."""
    settings = settings or BrokerSettings()
    host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
    if port_is_open(host, int(port)):
        return
    is_local = (host, int(port)) == (settings.host, settings.port)
    if is_local and start:
        KafkaBroker(settings).start()
        return
    hint = "start it with `actionstream broker start`" if is_local else "check bootstrap.servers"
    raise ServiceError(f"no Kafka broker answers on {bootstrap_servers}: {hint}")


def ensure_rtsp_server(start: bool = True, settings: RtspServerSettings | None = None) -> RtspServer:
    settings = settings or RtspServerSettings()
    server = RtspServer(settings)
    if server.status().running:
        return server
    if not start:
        raise ServiceError(
            f"no RTSP server on {settings.host}:{settings.port}: start it with `actionstream rtsp start`"
        )
    server.start()
    return server
