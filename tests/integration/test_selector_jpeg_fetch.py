"""Reading a closed window's selected JPEGs back from scored-frames by their claims, against the real broker:
the exact records' JPEGs across partitions and gaps, and records deleted by retention reported as expired."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from processors.selector.jpeg_fetch import JpegFetcher
from processors.settings import Stage2Settings
from streams.records import FrameRef
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.support.features import make_scored_frame

pytestmark = pytest.mark.integration


def _publish(settings: StreamsSettings, topic: str, partition: int, count: int) -> dict[int, bytes]:
    """`count` scored frames on one partition: offset -> the JPEG it carries."""
    producer = Producer(settings.kafka.client_config())
    jpegs: dict[int, bytes] = {}
    for seq in range(count):
        frame = make_scored_frame("lobby", "door", 100.0 + seq / 8, seq=seq, brightness=float(seq % 200))
        producer.produce(topic, value=frame.to_bytes(), key=frame.key(), partition=partition)
        jpegs[seq] = frame.jpeg
    assert producer.flush(30) == 0
    return jpegs


def test_selected_jpegs_are_read_back_by_offset_and_expired_ones_reported(streams_settings: StreamsSettings) -> None:
    topic = topic_name(Topic.SCORED_FRAMES, prefix=streams_settings.kafka.topic_prefix)
    near, far = _publish(streams_settings, topic, 2, 120), _publish(streams_settings, topic, 5, 10)
    fetcher = JpegFetcher(streams_settings.kafka, Stage2Settings(jpeg_fetch_seek_gap=8))
    wanted = [FrameRef(topic, 2, offset) for offset in (3, 4, 9, 60, 119)] + [FrameRef(topic, 5, 7)]
    fetched = fetcher.fetch(wanted)
    assert not fetched.expired
    assert fetched.jpegs == {claim: (near if claim.partition == 2 else far)[claim.offset] for claim in wanted}
    assert len(set(fetched.jpegs.values())) > 1  # distinct frames, not one JPEG repeated

    admin = AdminClient(streams_settings.kafka.client_config())
    for future in admin.delete_records([TopicPartition(topic, 2, 50)]).values():
        future.result(timeout=30)
    fetched = fetcher.fetch([FrameRef(topic, 2, offset) for offset in (10, 49, 50, 70)])
    assert sorted(claim.offset for claim in fetched.expired) == [10, 49]
    assert {claim.offset: jpeg for claim, jpeg in fetched.jpegs.items()} == {50: near[50], 70: near[70]}
