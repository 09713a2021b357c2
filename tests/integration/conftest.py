"""Real services for integration tests: a Kafka broker and an RTSP server started by the test session,
unique topics per test (a topic prefix), and synthetic H.264 feeds published as RTSP cameras."""

from __future__ import annotations

import random
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Message

from infra.kafka.broker import KafkaBroker
from infra.kafka.security import ADMIN_PROPERTIES_FILE
from infra.process import ManagedProcess
from infra.rtsp.publisher import FeedPublisher
from infra.rtsp.server import RtspServer
from infra.settings import BrokerSettings, RtspServerSettings
from streams.settings import KafkaSettings, StreamsSettings
from streams.topics import ensure_topics
from training.synth import SynthSettings
from training.synth_feed import write_camera_feed

SITE = "site-t"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ephemeral_ports_start() -> int:
    """The lowest port the kernel hands to outgoing connections (Linux's default where it cannot be read)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
        return True


def free_port_block(count: int, step: int) -> int:
    """A base port whose `count` ports `step` apart are all free, below the ephemeral range: a port in it can be
    taken by any client's outgoing connection (Kafka's, the console's) between this check and a process binding
    it, which once failed the demo test's features process with "Address already in use"."""
    top = _ephemeral_ports_start() - count * step
    for base in random.Random().sample(range(10_000, top), 200):
        if all(_bindable(base + index * step) for index in range(count)):
            return base
    raise RuntimeError(f"no {count} free ports {step} apart below {top + count * step}")


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    settings = BrokerSettings(
        port=free_port(), controller_port=free_port(), state_dir=tmp_path_factory.mktemp("kafka")
    )
    broker = KafkaBroker(settings)
    broker.start()  # no skip: an integration test that cannot reach its broker fails
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A second broker: SASL/SCRAM-SHA-512 over TLS (local CA), ACLs enforced, a super user."""
    settings = BrokerSettings(port=free_port(), controller_port=free_port(),
                              state_dir=tmp_path_factory.mktemp("kafka-secure"), security="scram", tls=True,
                              reauth_ms=10_000)  # a removed site's open sessions end within 10 s
    broker = KafkaBroker(settings)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def secure_admin(secure_broker: KafkaBroker, monkeypatch: pytest.MonkeyPatch) -> KafkaSettings:
    """The secure broker's super user with a topic prefix of its own; `actionstream sites` commands use it too."""
    properties = secure_broker.state_dir / ADMIN_PROPERTIES_FILE
    prefix = f"s{uuid.uuid4().hex[:8]}."
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__PROPERTIES_FILE", str(properties))
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__TOPIC_PREFIX", prefix)
    return KafkaSettings(properties_file=properties, topic_prefix=prefix)


def start_rtsp_server(state_dir: Path) -> RtspServer:
    server = RtspServer(RtspServerSettings(port=free_port(), state_dir=state_dir))
    server.start()
    return server


@pytest.fixture(scope="session")
def rtsp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    server = start_rtsp_server(tmp_path_factory.mktemp("rtsp"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def feed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six seconds of synthetic action video, 320x240 at 25 fps, H.264 with a keyframe every 0.5 s."""
    out = tmp_path_factory.mktemp("feeds") / "feed.mp4"
    return write_camera_feed(SynthSettings(seconds=2.0), out, seconds=6.0, width=320, height=240, fps=25.0,
                             gop_seconds=0.5)


@pytest.fixture
def streams_settings(broker: KafkaBroker) -> StreamsSettings:
    """Settings with a unique topic prefix, so every test has its own topics; the catalogue is created."""
    kafka = KafkaSettings(
        bootstrap_servers=broker.settings.bootstrap_servers, topic_prefix=f"t{uuid.uuid4().hex[:8]}."
    )
    ensure_topics(kafka, [SITE])
    return StreamsSettings(kafka=kafka, metrics_port=0)


@pytest.fixture
def publish(rtsp_server: RtspServer, feed_file: Path) -> Iterator[Callable[..., FeedPublisher]]:
    """Publish the feed (or another file) on an RTSP path of a given server; stopped after the test."""
    started: list[FeedPublisher] = []

    def _publish(path: str, source: Path | None = None, server: RtspServer | None = None) -> FeedPublisher:
        publisher = FeedPublisher((server or rtsp_server).settings, path, source or feed_file)
        publisher.start()
        started.append(publisher)
        return publisher

    yield _publish
    for publisher in started:
        publisher.stop()


def consume_all(settings: StreamsSettings, topic: str, idle_s: float = 3.0) -> list[Message]:
    """Every record of a topic, from the start, until nothing new arrives for idle_s."""
    consumer = Consumer({
        **settings.kafka.client_config(),
        "group.id": f"test-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    assigned: list[object] = []
    consumer.subscribe([topic], on_assign=lambda _consumer, partitions: assigned.append(partitions))
    records: list[Message] = []
    deadline = time.monotonic() + 120.0
    try:
        idle = 0.0
        while idle < idle_s and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                if assigned:  # idle time counts only once the partitions are ours
                    idle += 0.5
                continue
            if message.error():
                raise RuntimeError(message.error())
            records.append(message)
            idle = 0.0
    finally:
        consumer.close()
    return records


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained bundle with an ONNX encoder: serving plumbing without training."""
    from tests.support.bundles import make_tiny_bundle

    return make_tiny_bundle(tmp_path_factory.mktemp("bundle") / "tiny", ["walk", "wave", "jump"])


def processor_env(settings: StreamsSettings, model: str, **extra: str) -> dict[str, str]:
    """Environment of a processor subprocess: the test's broker and topics, a model, no metrics port."""
    return {
        "ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "ACTIONSTREAM_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
        "ACTIONSTREAM_SITES": f'["{SITE}"]',
        "ACTIONSTREAM_MODEL__REFERENCE": model,
        "ACTIONSTREAM_METRICS_PORT": "0",
        "OMP_NUM_THREADS": "1",
        **extra,
    }


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., ManagedProcess]]:
    """Start `actionstream ...` subprocesses (logs in tmp_path); all are stopped after the test."""
    started: list[ManagedProcess] = []

    def _start(name: str, args: list[str], env: dict[str, str]) -> ManagedProcess:
        process = ManagedProcess(name, tmp_path / "processes")
        process.start([sys.executable, "-m", "actionstream", *args], env={**env, "ACTIONSTREAM_STATE_DIR":
                                                                          str(tmp_path / name)})
        started.append(process)
        return process

    yield _start
    for process in started:
        process.stop(timeout_s=20.0)
