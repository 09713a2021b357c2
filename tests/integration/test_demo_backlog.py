"""The demo loop's backlog skip on the real broker: a group's committed offsets move to the partition ends, and a
group that committed nothing stays without offsets; an app's table changelogs are deleted, other topics kept."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from actionstream.demo_loop import forget_table_changelogs, skip_backlog
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE

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

    assert skip_backlog(streams_settings.kafka, [lagging, unused], [SITE]) >= 1
    assert _committed(streams_settings, lagging, partition) == 5
    assert _committed(streams_settings, unused, partition) < 0


def test_an_apps_table_changelogs_are_deleted_and_other_topics_kept(streams_settings: StreamsSettings) -> None:
    kafka = streams_settings.kafka
    changelog, other = f"{kafka.topic_prefix}app-table-changelog", f"{kafka.topic_prefix}app-ticks"
    admin = AdminClient(kafka.client_config())
    compacted = {"cleanup.policy": "compact"}  # as Faust's changelogs: Kafka refuses DeleteRecords on them
    for future in admin.create_topics([NewTopic(changelog, num_partitions=2, replication_factor=1, config=compacted),
                                       NewTopic(other, num_partitions=2, replication_factor=1)]).values():
        future.result(30)
    producer = Producer(kafka.client_config())
    for name in (changelog, other):
        for index in range(4):
            producer.produce(name, key=str(index).encode(), value=b"state", partition=index % 2)
    assert producer.flush(30) == 0

    assert forget_table_changelogs(kafka, "app") == [changelog]
    topics = admin.list_topics(timeout=30).topics
    assert changelog not in topics and other in topics
    assert forget_table_changelogs(kafka, "app") == []  # nothing left to delete
