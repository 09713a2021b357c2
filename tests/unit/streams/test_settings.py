"""Wire-side settings: librdkafka mapping, secrets, producer guarantees, environment."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from streams.settings import KafkaSettings, ProducerSettings, StreamsSettings


def test_plaintext_client_config_has_no_sasl_or_ssl_keys() -> None:
    config = KafkaSettings(bootstrap_servers="k1:9092,k2:9092", client_id="cams").client_config()
    assert config["bootstrap.servers"] == "k1:9092,k2:9092"
    assert config["client.id"] == "cams"
    assert config["security.protocol"] == "PLAINTEXT"
    assert not {key for key in config if key.startswith(("sasl.", "ssl."))}


def test_sasl_client_config_includes_credentials() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="cams",
        sasl_password=SecretStr("hunter2"),
        ssl_ca_location="/etc/ca.pem",
    )
    config = kafka.client_config()
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["sasl.username"] == "cams"
    assert config["sasl.password"] == "hunter2"
    assert config["ssl.ca.location"] == "/etc/ca.pem"


def test_password_never_appears_in_repr_or_dump() -> None:
    kafka = KafkaSettings(sasl_username="cams", sasl_password=SecretStr("hunter2"))
    assert "hunter2" not in repr(kafka)
    assert "hunter2" not in str(kafka)
    assert "hunter2" not in kafka.model_dump_json()
    assert "hunter2" not in repr(StreamsSettings(kafka=kafka))


def test_producer_is_idempotent_and_waits_for_all_replicas() -> None:
    config = ProducerSettings().client_config()
    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"
    assert config["compression.type"] == "none"


def test_bootstrap_servers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS", "broker-1:19092")
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__TOPIC_PREFIX", "test.")
    monkeypatch.setenv("ACTIONSTREAM_METRICS_PORT", "0")
    settings = StreamsSettings()
    assert settings.kafka.bootstrap_servers == "broker-1:19092"
    assert settings.kafka.topic_prefix == "test."
    assert settings.metrics_port == 0
    assert settings.kafka.client_config()["bootstrap.servers"] == "broker-1:19092"
