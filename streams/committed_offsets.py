"""Consumer groups' committed offsets and the partition ends they trail, read (and moved) with plain consumers.

Why not the admin API: AdminClient.list_consumer_group_offsets can crash the process (a segmentation fault)
while a fresh broker's group coordinator is still loading (confluent-kafka-python issue 1982). A consumer
configured with the group's id reads and commits its offsets through the same coordinator without that crash,
and without joining the group: it never subscribes, so it takes no partitions from the group's members.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TypeVar

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaException, TopicPartition

from streams.kafka_retry import COORDINATOR_STARTING, LEADER_MOVING, retried
from streams.settings import KafkaSettings

Partition = tuple[str, int]  # (topic, partition index)
Result = TypeVar("Result")


def listed_offsets(consumer: Consumer, partitions: Iterable[Partition], end: bool, timeout_s: float
                   ) -> dict[Partition, int]:
    """Each partition's end or earliest retained offset as get_watermark_offsets gives them (the end under the
    consumer's isolation level: read_committed, the default, stops before open transactions), in one ListOffsets
    request per leader. get_watermark_offsets asks two requests per partition: the window process's stage-1
    backlog probe and the bench's lag sampler, every 2 s, sent 49-51 of the broker's 272-275 requests a second
    (bench pipeline, K=4); 2.6-2.8 this way (cheap ones: the broker's request threads spent 3.6-4.0 ms CPU per
    frame either way). Asked again while a partition's leader is moving or not yet known, for at most the
    timeout."""
    wanted = [TopicPartition(topic, index, OFFSET_END if end else OFFSET_BEGINNING) for topic, index in partitions]
    if not wanted:
        return {}

    def ask() -> dict[Partition, int]:
        found = consumer.offsets_for_times(wanted, timeout=timeout_s)
        for item in found:
            if item.error is not None:
                raise KafkaException(item.error)
        return {(item.topic, item.partition): item.offset for item in found}

    return retried(ask, LEADER_MOVING, timeout_s)


class CommittedOffsets:
    """Committed offsets of any number of groups, and partition ends. One consumer per group, kept for reuse
    (a sampler asks every few seconds); close() (or the context manager) closes them all."""

    def __init__(self, kafka: KafkaSettings, timeout_s: float = 30.0) -> None:
        self._kafka = kafka
        self._timeout_s = timeout_s
        # Never joins its group; on a secure cluster a principal may only use groups named after its user.
        self._probe = self._consumer(f"{kafka.sasl_username or 'actionstream'}-offsets-{uuid.uuid4().hex[:8]}")
        self._groups: dict[str, Consumer] = {}

    def _consumer(self, group_id: str) -> Consumer:
        return Consumer({**self._kafka.client_config(), "group.id": group_id, "enable.auto.commit": False})

    def _group(self, group_id: str) -> Consumer:
        if group_id not in self._groups:
            self._groups[group_id] = self._consumer(group_id)
        return self._groups[group_id]

    def partitions(self, topics: Iterable[str] | None = None) -> list[Partition]:
        """Every partition of the given topics (those that exist), or of every topic but Kafka's internal ones."""
        if topics is None:
            metadata = self._probe.list_topics(timeout=self._timeout_s).topics
            return [(name, index) for name, topic in metadata.items() if not name.startswith("__")
                    for index in topic.partitions]
        found: list[Partition] = []
        for name in topics:
            topic = self._probe.list_topics(name, timeout=self._timeout_s).topics.get(name)
            if topic is not None and topic.error is None:
                found.extend((name, index) for index in topic.partitions)
        return found

    def ends(self, partitions: Iterable[Partition]) -> dict[Partition, int]:
        """Each partition's high watermark: the offset its next record will get."""
        return listed_offsets(self._probe, partitions, end=True, timeout_s=self._timeout_s)

    def committed(self, group_id: str, partitions: Iterable[Partition]) -> dict[Partition, int]:
        """The group's committed offset of each partition that has one (a partition it never committed is
        left out)."""
        wanted = [TopicPartition(topic, index) for topic, index in partitions]
        if not wanted:
            return {}
        found = self._retry(lambda: self._group(group_id).committed(wanted, timeout=self._timeout_s))
        return {(item.topic, item.partition): item.offset for item in found if item.offset >= 0}

    def commit(self, group_id: str, offsets: Mapping[Partition, int]) -> None:
        """Set the group's committed offsets (only while the group has no members: a member's next commit
        would overwrite them)."""
        if offsets:
            wanted = [TopicPartition(topic, index, offset) for (topic, index), offset in offsets.items()]
            self._retry(lambda: self._group(group_id).commit(offsets=wanted, asynchronous=False))

    def _retry(self, call: Callable[[], Result]) -> Result:
        """The call, repeated while the group coordinator is starting, for at most the timeout."""
        return retried(call, COORDINATOR_STARTING, self._timeout_s)

    def close(self) -> None:
        for consumer in [self._probe, *self._groups.values()]:
            consumer.close()
        self._groups.clear()

    def __enter__(self) -> CommittedOffsets:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
