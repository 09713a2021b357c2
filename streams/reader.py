"""Reading a topic from a point in time to its current end: committed records only, no consumer group."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from streams.kafka_retry import TOPIC_OR_LEADER_MOVING, retried
from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)


def offsets_for_times(consumer: Consumer, wanted: list[TopicPartition], timeout_s: float) -> list[TopicPartition]:
    """The first offset at or after each partition's timestamp. A leader that moves (a topic just created, a
    broker restarted) fails the lookup with an error that passes; it is asked again until `timeout_s` has passed."""
    deadline = time.monotonic() + timeout_s
    return retried(lambda: consumer.offsets_for_times(wanted, timeout=max(deadline - time.monotonic(), 0.5)),
                   TOPIC_OR_LEADER_MOVING, timeout_s, any_retriable=True)


class TopicReader:
    """One topic from a point in time on, committed records only (read_committed), without a consumer group
    (explicit assignment: it never takes partitions from anyone). `at_end` is true once every partition
    has been read up to its last stable offset."""

    def __init__(self, kafka: KafkaSettings, topic: str, since: float) -> None:
        self.topic = topic
        self._consumer = Consumer({
            **kafka.client_config(),
            # Never joined, but librdkafka still looks up its coordinator: on a secure cluster the group must be
            # one the principal may describe, and a platform principal's groups start with its user name.
            "group.id": f"{kafka.sasl_username or 'actionstream'}-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        })
        try:
            partitions = self._consumer.list_topics(topic, timeout=10.0).topics[topic].partitions
            wanted = [TopicPartition(topic, partition, int(since * 1000)) for partition in partitions]
            # A partition with no record at or after `since` resolves to its end: only later records.
            self._consumer.assign(offsets_for_times(self._consumer, wanted, timeout_s=10.0))
        except KafkaException:
            self._consumer.close()  # a reader that could not start leaves no client behind
            raise
        self.partitions = len(partitions)  # 0: no such topic
        self._pending = set(partitions)

    @property
    def at_end(self) -> bool:
        return not self._pending

    def poll(self, timeout_s: float) -> Message | None:
        message = self._consumer.poll(timeout_s)
        if message is None:
            return None
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                self._pending.discard(message.partition())
            else:
                logger.warning("reading %s: %s", self.topic, error)
            return None
        self._pending.add(message.partition())
        return message

    def drain(self, timeout_s: float = 30.0) -> Iterator[Message]:
        """Every record until all partitions are at their end (or `timeout_s` passes)."""
        deadline = time.monotonic() + timeout_s
        while not self.at_end and time.monotonic() < deadline:
            message = self.poll(0.5)
            if message is not None:
                yield message

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class TopicUnreadable(RuntimeError):
    """A topic could not be read to its end: it does not exist, or the time allowed ran out."""


def read_to_end(kafka: KafkaSettings, topic: str, timeout_s: float) -> list[Message]:
    """Every committed record of a topic, from its start to its end as of now (state kept on a topic)."""
    try:
        reader = TopicReader(kafka, topic, since=0.0)
    except KafkaException as error:
        raise TopicUnreadable(f"{topic}: {error}") from error
    with reader:
        if not reader.partitions:
            raise TopicUnreadable(f"{topic}: no such topic")
        records = list(reader.drain(timeout_s))
        if not reader.at_end:
            raise TopicUnreadable(f"{topic}: not read to its end in {timeout_s:g} s")
    return records
