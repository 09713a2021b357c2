"""The local broker's KRaft configuration, written without running Java."""

from __future__ import annotations

from pathlib import Path

from infra.kafka.broker import KafkaBroker
from infra.settings import BrokerSettings


def _properties(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_write_config_kraft_properties(tmp_path: Path) -> None:
    settings = BrokerSettings(
        host="127.0.0.1", port=19092, controller_port=19093, state_dir=tmp_path / "kafka",
        message_max_bytes=16 * 1024 * 1024,
    )
    broker = KafkaBroker(settings)
    broker.state_dir.mkdir(parents=True)

    broker._write_config()

    properties = _properties(broker.state_dir / "server.properties")
    assert properties["process.roles"] == "broker,controller"
    assert properties["node.id"] == "1"
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert properties["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert properties["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert properties["controller.listener.names"] == "CONTROLLER"
    assert properties["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert properties["log.dirs"] == str((tmp_path / "kafka" / "data").resolve())
    assert properties["auto.create.topics.enable"] == "false"
    assert properties["offsets.topic.replication.factor"] == "1"
    assert properties["transaction.state.log.replication.factor"] == "1"
    assert properties["message.max.bytes"] == str(16 * 1024 * 1024)
    assert properties["replica.fetch.max.bytes"] == str(16 * 1024 * 1024)

    log4j = (broker.state_dir / "log4j2.properties").read_text()
    assert f"appender.file.fileName = {broker.state_dir / 'server.log'}" in log4j


def test_broker_accepts_the_largest_catalogue_record() -> None:
    from streams.topics import CATALOGUE

    assert BrokerSettings().message_max_bytes >= max(spec.max_message_bytes for spec in CATALOGUE)


def test_java_command_uses_heap_and_libs(tmp_path: Path) -> None:
    settings = BrokerSettings(cache_dir=tmp_path / "cache", state_dir=tmp_path / "kafka", heap="512m")
    command = KafkaBroker(settings)._java("kafka.Kafka", "server.properties")
    assert command[:3] == ["java", "-Xmx512m", "-Xms512m"]
    assert command[command.index("-cp") + 1] == f"{settings.libs_dir}/*"
    assert command[-2:] == ["kafka.Kafka", "server.properties"]


def test_status_without_a_running_broker(tmp_path: Path) -> None:
    status = KafkaBroker(BrokerSettings(port=19092, state_dir=tmp_path / "kafka")).status()
    assert status.running is False
    assert status.pid is None
    assert status.bootstrap_servers == "127.0.0.1:19092"
