"""Wire-side settings: how to reach Kafka, how producers behave, where metrics are served."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.broker_health import BrokerHealthSettings
from streams.kafka_properties import PropertiesFileError, read_properties
from streams.retention import SiteRetention


class KafkaSettings(BaseModel):
    """Connection to the shared Kafka cluster, mapped onto librdkafka keys by `client_config()`.

    Credentials come from the environment (ACTIONSTREAM_KAFKA__SASL_PASSWORD) or from a librdkafka properties file
    (`properties_file`, as written by `actionstream sites add`); fields set explicitly win over the file."""

    # A validation error of this model would otherwise quote its input, which may hold the password.
    model_config = ConfigDict(hide_input_in_errors=True)

    bootstrap_servers: str = Field("127.0.0.1:9092", description="Comma-separated host:port list.")
    topic_prefix: str = Field("", description="Prefix for every topic name, e.g. 'prod.'.")
    client_id: str = Field("actionstream", description="Client id reported to the broker.")
    properties_file: Path | None = Field(
        None, description="librdkafka properties file (bootstrap.servers, security.protocol, sasl.*, ssl.ca.location)."
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = Field(None, description="CA certificate (PEM) that signed the brokers' certificates.")
    reconnect_backoff_max_ms: int = Field(2000, ge=0, description="librdkafka: longest wait between reconnects to "
                                          "a broker (backoff doubles up to it); bounds the recovery delay too.")
    metadata_retry_backoff_ms: int = Field(1000, ge=0, description="aiokafka (selector workers): wait this long "
                                           "after a failed metadata update before the next.")
    health: BrokerHealthSettings = Field(default_factory=BrokerHealthSettings)

    @model_validator(mode="before")
    @classmethod
    def _fill_from_properties_file(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("properties_file"):
            return data
        path = Path(data["properties_file"])
        properties = read_properties(path)
        unknown = sorted(set(properties) - set(_PROPERTY_FIELDS))
        if unknown:
            raise PropertiesFileError(f"{path}: unsupported keys {', '.join(unknown)}")
        from_file = {field_name: properties[key] for key, field_name in _PROPERTY_FIELDS.items() if key in properties}
        return {**from_file, **data}

    def connection_properties(self) -> dict[str, str]:
        """The librdkafka keys that say where the cluster is and who this client is: a properties file's content."""
        properties = {"bootstrap.servers": self.bootstrap_servers, "security.protocol": self.security_protocol}
        if self.sasl_mechanism:
            properties["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            properties["sasl.username"] = self.sasl_username
        if self.sasl_password:
            properties["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_ca_location:
            properties["ssl.ca.location"] = self.ssl_ca_location
        return properties

    def client_config(self) -> dict[str, Any]:
        from streams.broker_monitor import rdkafka_error_cb  # loads confluent_kafka: only once a client is made

        return {
            # librdkafka's own log lines go through Python logging instead of raw stderr.
            "logger": logging.getLogger("librdkafka"),
            "error_cb": rdkafka_error_cb,
            **self.connection_properties(),
            "client.id": self.client_id,
            "reconnect.backoff.max.ms": self.reconnect_backoff_max_ms,
        }


# Keys of a properties file and the fields they fill.
_PROPERTY_FIELDS = {
    "bootstrap.servers": "bootstrap_servers",
    "security.protocol": "security_protocol",
    "sasl.mechanism": "sasl_mechanism",
    "sasl.mechanisms": "sasl_mechanism",
    "sasl.username": "sasl_username",
    "sasl.password": "sasl_password",
    "ssl.ca.location": "ssl_ca_location",
}


class ProducerSettings(BaseModel):
    """Idempotent producers: no duplicates or reordering on retries, every write acknowledged by all ISRs."""

    linger_ms: int = Field(5, description="Wait this long to fill a batch.")
    batch_size: int = Field(1024 * 1024, description="Largest batch in bytes.")
    queue_buffering_max_kbytes: int = Field(256 * 1024, description="Bound on memory held for unsent records.")
    message_timeout_ms: int = Field(300_000, description="Give up on a record after this long (broker down).")
    message_max_bytes: int = Field(
        16 * 1024 * 1024, description="Largest record this client sends (the dead-letter topic's limit)."
    )
    compression_type: Literal["none", "lz4", "zstd", "snappy", "gzip"] = Field(
        "none", description="JPEG is already compressed; compress only JSON-heavy producers."
    )

    def client_config(self) -> dict[str, str | int | bool]:
        return {
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": self.linger_ms,
            "batch.size": self.batch_size,
            "queue.buffering.max.kbytes": self.queue_buffering_max_kbytes,
            "message.timeout.ms": self.message_timeout_ms,
            "message.max.bytes": self.message_max_bytes,
            "compression.type": self.compression_type,
        }


class StreamsSettings(BaseSettings):
    """Root settings of wire-side processes; env names like ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS."""

    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_", env_nested_delimiter="__")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    producer: ProducerSettings = Field(default_factory=ProducerSettings)
    metrics_port: int = Field(9464, description="Prometheus metrics HTTP port (0: do not serve).")
    retention: dict[str, SiteRetention] = Field(
        default_factory=dict, description="Per site: how long its topics keep records (streams/retention.py)."
    )
