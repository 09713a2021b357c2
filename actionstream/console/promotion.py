"""The model panel: the version in production, the registered versions, and the console's one write action,
moving the production alias (a promotion, or a rollback to an older version) the way `actionstream serving
promote` and the retrain worker do: the alias in the registry first, then a model-updates record that every
worker follows without a restart."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Producer
from pydantic import SecretStr

from models.registry import RegistrySettings, alias_version, find_versions, set_alias
from streams.schemas import ModelUpdate
from streams.settings import KafkaSettings
from streams.topics import Topic, topic_name


class UnknownVersion(ValueError):
    """The registry has no such version of the registered model."""


class TokenRefused(PermissionError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status  # 401: no credentials given; 403: given but not accepted, or the console is read-only


def check_token(configured: SecretStr | None, authorization: str | None) -> None:
    """Accept `Authorization: Bearer <the configured token>`; raise TokenRefused otherwise."""
    if configured is None or not configured.get_secret_value():
        raise TokenRefused(403, "the console is read-only: no admin token is configured "
                                "(ACTIONSTREAM_CONSOLE__ADMIN_TOKEN)")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise TokenRefused(401, "an admin token is required (Authorization: Bearer <token>)")
    if not hmac.compare_digest(given.strip().encode(), configured.get_secret_value().encode()):
        raise TokenRefused(403, "the admin token is not valid")


@dataclass(frozen=True)
class ModelPanel:
    registry: RegistrySettings
    kafka: KafkaSettings
    alias: str
    publish_timeout_s: float

    def overview(self) -> dict[str, Any]:
        return {"model": self.registry.registered_model, "alias": self.alias,
                "production": alias_version(self.registry, self.alias),
                "versions": find_versions(self.registry, {})}

    def promote(self, version: str) -> ModelUpdate:
        """Point the alias at `version` and announce it; the previous production version is a rollback away."""
        if version not in find_versions(self.registry, {}):
            raise UnknownVersion(f"{self.registry.registered_model} has no version {version!r}")
        set_alias(self.registry, version, self.alias)
        update = ModelUpdate(model=self.registry.registered_model, alias=self.alias, version=version)
        announce(self.kafka, update, self.publish_timeout_s)
        return update


def announce(kafka: KafkaSettings, update: ModelUpdate, timeout_s: float) -> None:
    """The record `processors.serving.publish_model_update` writes (same topic, key and producer guarantees),
    written here because importing that module would load the serving runtime (torch) into the console."""
    producer = Producer({**kafka.client_config(), "enable.idempotence": True, "acks": "all"})
    producer.produce(topic_name(Topic.MODEL_UPDATES, prefix=kafka.topic_prefix), value=update.to_json_bytes(),
                     key=update.key())
    if producer.flush(timeout_s):
        raise RuntimeError(f"model update {update.model}/{update.version} was not acknowledged in {timeout_s:g} s")
