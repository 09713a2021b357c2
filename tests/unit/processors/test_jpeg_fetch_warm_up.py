"""Stage 2's JPEG read-back is warmed up at start: it reads each owned partition to its end once, and stops
waiting after its deadline without failing the worker."""

from __future__ import annotations

import pytest
from confluent_kafka import OFFSET_END, KafkaError, TopicPartition

from processors.selector.jpeg_fetch import JpegFetcher
from processors.settings import Stage2Settings
from streams.settings import KafkaSettings


class _Eof:
    def __init__(self, topic: str, partition: int) -> None:
        self._topic, self._partition = topic, partition

    def error(self) -> KafkaError:
        return KafkaError(KafkaError._PARTITION_EOF)

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition


class _Consumer:
    """Answers each poll with the next partition's end of file, for the partitions it is told will answer."""

    def __init__(self, answering: list[int]) -> None:
        self.answering = answering
        self.assigned: list[tuple[str, int, int]] = []
        self.unassigned = False
        self.polls = 0

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned = [(tp.topic, tp.partition, tp.offset) for tp in partitions]

    def poll(self, timeout: float) -> _Eof | None:
        self.polls += 1
        return _Eof("scored-frames", self.answering.pop(0)) if self.answering else None

    def unassign(self) -> None:
        self.unassigned = True


def _fetcher(consumer: _Consumer, monkeypatch: pytest.MonkeyPatch) -> JpegFetcher:
    monkeypatch.setattr("processors.selector.jpeg_fetch.Consumer", lambda config: consumer)
    return JpegFetcher(KafkaSettings(), Stage2Settings(jpeg_fetch_retry_s=0.001))


def test_each_owned_partition_is_read_to_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = _Consumer(answering=[4, 1])
    _fetcher(consumer, monkeypatch).warm_up([("scored-frames", 1), ("scored-frames", 4)])

    assert consumer.assigned == [("scored-frames", 1, OFFSET_END), ("scored-frames", 4, OFFSET_END)]
    assert consumer.polls == 2 and consumer.unassigned


def test_a_partition_that_never_answers_ends_the_wait_at_the_deadline(monkeypatch: pytest.MonkeyPatch,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    consumer = _Consumer(answering=[1])
    _fetcher(consumer, monkeypatch).warm_up([("scored-frames", 1), ("scored-frames", 4)])

    assert consumer.unassigned and consumer.polls > 2
    assert "not warmed up on 1 of 2 partitions" in caplog.text
