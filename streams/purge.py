"""Deleting a site's records from its own topics (DeleteRecords: everything before an offset per partition).

Only a site's own deleting topics can be purged per site: shared topics (scored frames, clips, outcomes) mix every
site's records and age out with their catalogue retention; camera status is compacted state, not footage."""

from __future__ import annotations

import logging
from datetime import datetime

from confluent_kafka import OFFSET_END, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from streams.kafka_retry import TOPIC_OR_LEADER_MOVING, retried
from streams.settings import KafkaSettings
from streams.topics import Topic, topic_name

logger = logging.getLogger(__name__)

# The site's own topics that carry frames or what was derived from them.
PURGED_TOPICS = (Topic.FRAMES, Topic.LABELS, Topic.ACTIONS, Topic.INCIDENTS)


def purge_site_topics(kafka: KafkaSettings, site: str, before: datetime | None = None,
                      timeout_s: float = 30.0) -> dict[str, int]:
    """Delete the site's records older than `before` (all, when None); returns records deleted per topic."""
    admin = AdminClient(kafka.client_config())
    names = [topic_name(topic, site, kafka.topic_prefix) for topic in PURGED_TOPICS]
    metadata = admin.list_topics(timeout=timeout_s).topics
    partitions = [TopicPartition(name, partition) for name in names if name in metadata
                  for partition in metadata[name].partitions]
    if not partitions:
        return {}
    earliest = _offsets(admin, partitions, OffsetSpec.earliest(), timeout_s)
    if before is None:
        targets = dict.fromkeys(partitions, OFFSET_END)
    else:
        # The first record at or after `before`; -1 where every record is older (then all of them go).
        at = _offsets(admin, partitions, OffsetSpec.for_timestamp(int(before.timestamp() * 1000)), timeout_s)
        targets = {partition: OFFSET_END if offset < 0 else offset for partition, offset in at.items()}
    requests = [TopicPartition(partition.topic, partition.partition, offset) for partition, offset in targets.items()]
    deleted: dict[str, int] = dict.fromkeys((name for name in names if name in metadata), 0)
    # Deleting before the same offsets again deletes nothing more, so a leader that moved mid-way is asked again.
    for partition, low_watermark in retried(lambda: _deleted_up_to(admin, requests, timeout_s), TOPIC_OR_LEADER_MOVING,
                                            timeout_s).items():
        deleted[partition.topic] += max(0, low_watermark - earliest[partition])
    logger.debug("site %s: records deleted per topic %s", site, deleted)
    return deleted


def _key(partition: TopicPartition) -> TopicPartition:
    return TopicPartition(partition.topic, partition.partition)


def _offsets(admin: AdminClient, partitions: list[TopicPartition], spec: OffsetSpec,
             timeout_s: float) -> dict[TopicPartition, int]:
    """Each partition's offset by `spec`, asked again while a partition's leader is not known yet (a topic whose
    first records were written a moment ago answers "Not leader for partition"), for at most the timeout."""
    def ask() -> dict[TopicPartition, int]:
        futures = admin.list_offsets({partition: spec for partition in partitions}, request_timeout=timeout_s)
        return {_key(partition): future.result(timeout_s).offset for partition, future in futures.items()}

    return retried(ask, TOPIC_OR_LEADER_MOVING, timeout_s)


def _deleted_up_to(admin: AdminClient, requests: list[TopicPartition], timeout_s: float) -> dict[TopicPartition, int]:
    """DeleteRecords before each request's offset -> each partition's low watermark after it."""
    futures = admin.delete_records(requests, request_timeout=timeout_s)
    return {_key(partition): future.result(timeout_s).low_watermark for partition, future in futures.items()}
