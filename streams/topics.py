"""The topic catalogue (every topic of the platform with its partitions, retention and size limits) and
idempotent creation through the AdminClient."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    TopicMetadata,
)

from streams.settings import KafkaSettings

if TYPE_CHECKING:
    from streams.retention import SiteRetention

logger = logging.getLogger(__name__)

_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
_MIB = 1024 * 1024
_METADATA_POLL_S = 0.1  # a fresh topic's leaders appear within a few polls


class Topic(StrEnum):
    """Logical topics; per-site topics take the site as a suffix."""

    FRAMES = "frames"
    SCORED_FRAMES = "scored-frames"
    CLIPS = "clips"
    ACTIONS = "actions"
    OUTCOMES = "outcomes"
    SHADOW_OUTCOMES = "shadow-outcomes"
    INCIDENTS = "incidents"
    CLASSIFIER_STATE = "classifier-state"
    LABELS = "labels"
    CAMERA_STATUS = "camera-status"
    MODEL_UPDATES = "model-updates"
    DRIFT_REPORTS = "drift-reports"
    RETRAIN_REQUESTS = "retrain-requests"
    RETRAIN_RESULTS = "retrain-results"
    DEADLETTER = "deadletter"


@dataclass(frozen=True)
class TopicSpec:
    topic: Topic
    per_site: bool
    partitions: int
    retention_ms: int | None  # None: compacted
    max_message_bytes: int
    description: str
    extra_config: dict[str, str] = field(default_factory=dict)

    def config(self) -> dict[str, str]:
        config = {"max.message.bytes": str(self.max_message_bytes), **self.extra_config}
        if self.retention_ms is None:
            config["cleanup.policy"] = "compact"
        else:
            config["cleanup.policy"] = "delete"
            config["retention.ms"] = str(self.retention_ms)
        return config


# Partitions bound the parallelism of each stage (one worker owns a camera's partition), so they are
# generous for the frame-carrying topics. Frame topics keep hours; outcomes keep weeks.
CATALOGUE: tuple[TopicSpec, ...] = (
    TopicSpec(Topic.FRAMES, True, 12, 2 * _HOUR_MS, 4 * _MIB, "JPEG frames from the camera adapters"),
    TopicSpec(Topic.SCORED_FRAMES, False, 12, 2 * _HOUR_MS, 4 * _MIB, "frames with features and delta_i"),
    TopicSpec(Topic.CLIPS, False, 12, 6 * _HOUR_MS, 8 * _MIB, "top-n frames per window"),
    TopicSpec(Topic.ACTIONS, True, 6, 30 * _DAY_MS, _MIB, "action events for downstream systems"),
    TopicSpec(Topic.OUTCOMES, False, 6, 30 * _DAY_MS, _MIB, "every window's result, action or idle"),
    TopicSpec(Topic.SHADOW_OUTCOMES, False, 3, 7 * _DAY_MS, _MIB, "a candidate's results in shadow, never actions"),
    TopicSpec(Topic.INCIDENTS, True, 3, 30 * _DAY_MS, _MIB, "one incident per action: start, updates, end"),
    # The classifier's per-camera state (last window, open incident), written in its transactions.
    TopicSpec(Topic.CLASSIFIER_STATE, False, 6, None, _MIB, "classifier state per camera"),
    TopicSpec(Topic.LABELS, True, 3, 30 * _DAY_MS, _MIB, "late ground truth"),
    # Per site: Kafka cannot restrict writes by key, so a shared topic would let a site overwrite others' cameras.
    TopicSpec(Topic.CAMERA_STATUS, True, 3, None, _MIB, "latest up/down state per camera"),
    TopicSpec(Topic.MODEL_UPDATES, False, 1, None, _MIB, "latest model version per role"),
    TopicSpec(Topic.DRIFT_REPORTS, False, 3, 30 * _DAY_MS, 4 * _MIB, "drift summaries"),
    TopicSpec(Topic.RETRAIN_REQUESTS, False, 1, 30 * _DAY_MS, _MIB, "retrain events"),
    # Not compacted: every outcome is kept. The worker's idempotence reads it back, so it keeps results at least
    # as long as requests are kept.
    TopicSpec(Topic.RETRAIN_RESULTS, False, 1, 30 * _DAY_MS, _MIB, "outcome of every retrain request"),
    # Must hold the largest record any other topic accepts, plus error headers.
    TopicSpec(Topic.DEADLETTER, False, 3, 7 * _DAY_MS, 16 * _MIB, "undecodable or invalid records"),
)


def spec_for(topic: Topic) -> TopicSpec:
    return next(spec for spec in CATALOGUE if spec.topic is topic)


def topic_name(topic: Topic, site: str | None = None, prefix: str = "") -> str:
    spec = spec_for(topic)
    if spec.per_site:
        if not site:
            raise ValueError(f"topic {topic.value} is per site: a site is required")
        return f"{prefix}{topic.value}.{site}"
    return f"{prefix}{topic.value}"


def catalogue_topics(sites: list[str], prefix: str = "",
                     retention: Mapping[str, SiteRetention] | None = None) -> dict[str, TopicSpec]:
    """Every concrete topic name for the given sites, with its spec (a site's own retention where it has one)."""
    names: dict[str, TopicSpec] = {}
    for spec in CATALOGUE:
        for site in sites if spec.per_site else [None]:
            site_retention = (retention or {}).get(site) if site else None
            retention_ms = site_retention.topic_retention_ms(spec.topic) if site_retention else None
            compacted = spec.retention_ms is None  # latest-state topics keep every key's last record
            names[topic_name(spec.topic, site, prefix)] = spec if retention_ms is None or compacted \
                else replace(spec, retention_ms=retention_ms)
    return names


@dataclass(frozen=True)
class TopicChange:
    name: str
    action: str  # "created", "updated", "unchanged"


def ensure_topics(kafka: KafkaSettings, sites: list[str], timeout_s: float = 30.0,
                  retention: Mapping[str, SiteRetention] | None = None) -> list[TopicChange]:
    """Create missing topics and bring existing ones to the catalogue's config and partition count.

    Idempotent: a second call changes nothing. Partitions are only ever increased (Kafka cannot shrink).
    """
    admin = AdminClient(kafka.client_config())
    wanted = catalogue_topics(sites, kafka.topic_prefix, retention)
    existing = admin.list_topics(timeout=timeout_s).topics
    changes: list[TopicChange] = []

    missing = [
        NewTopic(name, num_partitions=spec.partitions, replication_factor=-1, config=spec.config())
        for name, spec in wanted.items()
        if name not in existing
    ]
    if missing:
        for name, future in admin.create_topics(missing, request_timeout=timeout_s).items():
            try:
                future.result()
                changes.append(TopicChange(name, "created"))
            except KafkaException as error:
                if error.args[0].code() != 36:  # TOPIC_ALREADY_EXISTS: created concurrently, fine
                    raise
                changes.append(TopicChange(name, "unchanged"))

    for name, spec in wanted.items():
        if name not in existing:
            continue
        updated = _align_config(admin, name, spec, timeout_s)
        current_partitions = len(existing[name].partitions)
        if current_partitions < spec.partitions:
            admin.create_partitions([NewPartitions(name, spec.partitions)])[name].result(timeout_s)
            updated = True
        changes.append(TopicChange(name, "updated" if updated else "unchanged"))
    changed = {change.name for change in changes if change.action != "unchanged"}
    await_partitions(admin, {name: spec.partitions for name, spec in wanted.items() if name in changed}, timeout_s)
    for change in changes:
        if change.action != "unchanged":
            logger.debug("topic %s %s", change.name, change.action)  # callers print the changes they show
    return changes


def await_partitions(admin: AdminClient, partitions: Mapping[str, int], timeout_s: float = 30.0) -> None:
    """Return once the cluster's metadata shows each topic with at least its partition count, every partition
    with a leader. Topic creation returns before the brokers' metadata has the topic: a client that looks then
    sees no topic or 0 partitions (measured: 4 of 5 fresh catalogues right after creation), and a Faust worker
    whose first metadata snapshot held such a topic crashed in PartitionsMismatch (changelog 0, source 12)."""
    deadline = time.monotonic() + timeout_s
    pending = dict(partitions)
    while True:
        for name, count in sorted(pending.items()):  # one topic a request: a cluster lists thousands of partitions
            if _has_partitions(admin.list_topics(name, timeout=timeout_s).topics.get(name), count):
                del pending[name]
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"topics without all their partitions after {timeout_s:.0f} s: {', '.join(pending)}")
        time.sleep(_METADATA_POLL_S)


def _has_partitions(topic: TopicMetadata | None, count: int) -> bool:
    return (topic is not None and topic.error is None and len(topic.partitions) >= count
            and all(partition.error is None and partition.leader >= 0 for partition in topic.partitions.values()))


def _align_config(admin: AdminClient, name: str, spec: TopicSpec, timeout_s: float) -> bool:
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    current = admin.describe_configs([resource])[resource].result(timeout_s)
    differing = {key: value for key, value in spec.config().items() if current[key].value != value}
    if not differing:
        return False
    entries = [
        ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET) for key, value in differing.items()
    ]
    futures = admin.incremental_alter_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=entries)]
    )
    for future in futures.values():
        future.result(timeout_s)
    return True
