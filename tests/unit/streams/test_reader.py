"""The reader's offset lookup asks again while a partition's leader moves, and gives up on anything else."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from streams.reader import offsets_for_times


class FlakyLookup:
    """A consumer whose offset lookup fails with the given errors first, then answers."""

    def __init__(self, errors: list[int]) -> None:
        self.errors = errors
        self.calls = 0

    def offsets_for_times(self, wanted: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        self.calls += 1
        if self.errors:
            raise KafkaException(KafkaError(self.errors.pop(0)))
        return [TopicPartition(partition.topic, partition.partition, 7) for partition in wanted]


WANTED = [TopicPartition("t.drift-reports", 0, 1_000)]


def test_a_moving_leader_is_asked_again() -> None:
    consumer = FlakyLookup([KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE])
    offsets = offsets_for_times(consumer, WANTED, timeout_s=5.0)  # type: ignore[arg-type]
    assert [(partition.partition, partition.offset) for partition in offsets] == [(0, 7)]
    assert consumer.calls == 3


def test_an_error_that_will_not_pass_is_raised_at_once() -> None:
    consumer = FlakyLookup([KafkaError.TOPIC_AUTHORIZATION_FAILED])
    with pytest.raises(KafkaException, match="TOPIC_AUTHORIZATION_FAILED"):
        offsets_for_times(consumer, WANTED, timeout_s=5.0)  # type: ignore[arg-type]
    assert consumer.calls == 1


def test_a_leader_that_never_comes_back_raises_after_the_timeout() -> None:
    consumer = FlakyLookup([KafkaError.NOT_LEADER_FOR_PARTITION] * 100)
    with pytest.raises(KafkaException, match="NOT_LEADER_FOR_PARTITION"):
        offsets_for_times(consumer, WANTED, timeout_s=0.5)  # type: ignore[arg-type]
    assert 1 < consumer.calls < 100
