"""ensure_broker: accept a broker that answers, fail at once with a hint otherwise (nothing is started)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.process import ServiceError
from infra.services import ensure_broker
from infra.settings import BrokerSettings


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port reserved by a bound, non-listening socket: connections to it are refused."""
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        yield int(reserved.getsockname()[1])


def test_answering_broker_is_accepted(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        # Not this project's broker either: only the first bootstrap server has to answer.
        ensure_broker(f"127.0.0.1:{port},other:9092", start=False, settings=BrokerSettings(state_dir=tmp_path))


def test_local_broker_down_without_start_says_how_to_start_it(closed_port: int, tmp_path: Path) -> None:
    settings = BrokerSettings(host="127.0.0.1", port=closed_port, state_dir=tmp_path)
    with pytest.raises(ServiceError, match="actionstream broker start"):
        ensure_broker(f"127.0.0.1:{closed_port}", start=False, settings=settings)


def test_foreign_cluster_down_is_not_started(closed_port: int, tmp_path: Path) -> None:
    settings = BrokerSettings(host="127.0.0.1", port=closed_port + 1, state_dir=tmp_path)
    with pytest.raises(ServiceError, match=f"no Kafka broker answers on 127.0.0.1:{closed_port}: check bootstrap"):
        ensure_broker(f"127.0.0.1:{closed_port}", start=True, settings=settings)
