"""Committed offsets read and moved with plain consumers (the admin API's listing crashes on a fresh broker), on the
real broker; the bench's lag sampler reads them the same way."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Producer

from bench.pipeline_probes import GroupLag
from streams.committed_offsets import CommittedOffsets
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name

pytestmark = pytest.mark.integration


def _produce(settings: StreamsSettings, topic: str, per_partition: dict[int, int]) -> None:
    producer = Producer(settings.kafka.client_config())
    for partition, count in per_partition.items():
        for index in range(count):
            producer.produce(topic, value=b"x", key=str(index).encode(), partition=partition)
    assert producer.flush(30) == 0


def test_committed_offsets_and_ends_are_read_and_moved(streams_settings: StreamsSettings) -> None:
    topic = topic_name(Topic.OUTCOMES, prefix=streams_settings.kafka.topic_prefix)
    _produce(streams_settings, topic, {0: 5, 1: 3})
    group, idle_group = f"group-{uuid.uuid4().hex[:6]}", f"idle-{uuid.uuid4().hex[:6]}"

    with CommittedOffsets(streams_settings.kafka) as offsets:
        offsets.commit(group, {(topic, 0): 2})  # the first commit on a fresh broker: retried while it loads
        partitions = offsets.partitions([topic, f"{topic}-missing"])
        assert (topic, 0) in partitions and all(name == topic for name, _ in partitions)
        assert (topic, 0) in offsets.partitions()  # every topic when none is named
        ends = offsets.ends([(topic, 0), (topic, 1)])
        assert ends == {(topic, 0): 5, (topic, 1): 3}
        assert offsets.committed(group, partitions) == {(topic, 0): 2}  # partition 1: never committed, left out
        assert offsets.committed(idle_group, partitions) == {}
        offsets.commit(group, {(topic, 1): 1})
        assert offsets.committed(group, partitions) == {(topic, 0): 2, (topic, 1): 1}


def test_the_bench_lag_is_the_records_after_the_committed_offsets(streams_settings: StreamsSettings) -> None:
    topic = topic_name(Topic.CLIPS, prefix=streams_settings.kafka.topic_prefix)
    _produce(streams_settings, topic, {0: 4, 1: 2})
    group = f"lag-{uuid.uuid4().hex[:6]}"
    with CommittedOffsets(streams_settings.kafka) as offsets:
        offsets.commit(group, {(topic, 0): 3})

    lag = GroupLag(streams_settings.kafka, {"classifier": (group, topic)})
    try:
        assert lag.sample() == {"classifier": 1.0 + 2.0}  # partition 1 never committed: all its records
    finally:
        lag.close()
