"""The demo loop's backlog skip on the real broker: a group's committed offsets move to the partition ends, and a
group that committed nothing stays without offsets."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from actionstream.demo_loop import skip_backlog
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name

pytestmark = pytest.mark.integration


def _committed(settings: StreamsSettings, group_id: str, partition: TopicPartition) -> int:
    consumer = Consumer({**settings.kafka.client_config(), "group.id": group_id, "enable.auto.commit": False})
    try:
        return consumer.committed([partition], timeout=30)[0].offset
    finally:
        consumer.close()


def test_committed_offsets_move_to_the_end(streams_settings: StreamsSettings) -> None:
    topic = topic_name(Topic.OUTCOMES, prefix=streams_settings.kafka.topic_prefix)
    producer = Producer(streams_settings.kafka.client_config())
    for index in range(5):
        producer.produce(topic, value=b"x", partition=0, key=str(index).encode())
    assert producer.flush(30) == 0
    lagging, unused = f"lagging-{uuid.uuid4().hex[:6]}", f"unused-{uuid.uuid4().hex[:6]}"
    partition = TopicPartition(topic, 0)
    consumer = Consumer({**streams_settings.kafka.client_config(), "group.id": lagging, "enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition(topic, 0, 2)], asynchronous=False)
    consumer.close()

    assert skip_backlog(streams_settings.kafka, [lagging, unused]) >= 1
    assert _committed(streams_settings, lagging, partition) == 5
    assert _committed(streams_settings, unused, partition) < 0
