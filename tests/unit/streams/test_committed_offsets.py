"""Partition ends and earliest offsets in one ListOffsets lookup (offsets_for_times with the logical offsets)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaError, KafkaException, TopicPartition

from streams.committed_offsets import listed_offsets


@dataclass
class _Answer:  # a TopicPartition as offsets_for_times returns it (its error cannot be set from Python)
    topic: str
    partition: int
    offset: int
    error: KafkaError | None


class _Consumer:
    """Answers offsets_for_times from a table and records each call's partitions; its first `failures` answers
    carry `error`."""

    def __init__(self, offsets: dict[tuple[str, int, int], int], error: KafkaError | None = None,
                 failures: int = 1_000_000) -> None:
        self._offsets = offsets
        self._error = error
        self._failures = failures
        self.calls: list[list[tuple[str, int, int]]] = []

    def offsets_for_times(self, wanted: list[TopicPartition], timeout: float) -> list[_Answer]:
        self.calls.append([(item.topic, item.partition, item.offset) for item in wanted])
        error = self._error if len(self.calls) <= self._failures else None
        return [_Answer(item.topic, item.partition, self._offsets[item.topic, item.partition, item.offset], error)
                for item in wanted]


TABLE = {("t", 0, OFFSET_END): 120, ("t", 1, OFFSET_END): 75, ("t", 0, OFFSET_BEGINNING): 10,
         ("t", 1, OFFSET_BEGINNING): 0}


def test_every_partition_is_asked_in_one_call() -> None:
    consumer = _Consumer(TABLE)
    assert listed_offsets(consumer, [("t", 0), ("t", 1)], end=True, timeout_s=1.0) == {("t", 0): 120, ("t", 1): 75}
    assert listed_offsets(consumer, [("t", 0), ("t", 1)], end=False, timeout_s=1.0) == {("t", 0): 10, ("t", 1): 0}
    assert consumer.calls == [[("t", 0, OFFSET_END), ("t", 1, OFFSET_END)],
                              [("t", 0, OFFSET_BEGINNING), ("t", 1, OFFSET_BEGINNING)]]


def test_no_partition_asks_nothing() -> None:
    consumer = _Consumer(TABLE)
    assert listed_offsets(consumer, [], end=True, timeout_s=1.0) == {}
    assert consumer.calls == []


def test_a_partition_answered_with_an_error_raises_it() -> None:
    consumer = _Consumer(TABLE, KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART))
    with pytest.raises(KafkaException) as raised:
        listed_offsets(consumer, [("t", 0)], end=True, timeout_s=1.0)
    assert raised.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    assert len(consumer.calls) == 1


def test_a_partition_whose_leader_is_not_known_yet_is_asked_again() -> None:
    """A topic created a moment ago: the first answer says "not leader", the next one has the offset."""
    consumer = _Consumer(TABLE, KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION), failures=1)
    assert listed_offsets(consumer, [("t", 0)], end=True, timeout_s=5.0) == {("t", 0): 120}
    assert len(consumer.calls) == 2


def test_a_leader_that_stays_unknown_raises_after_the_timeout() -> None:
    consumer = _Consumer(TABLE, KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION))
    with pytest.raises(KafkaException) as raised:
        listed_offsets(consumer, [("t", 0)], end=True, timeout_s=0.5)
    assert raised.value.args[0].code() == KafkaError.NOT_LEADER_FOR_PARTITION
    assert len(consumer.calls) >= 2
