"""The batched stage 1 (`stage1.engine: batched`) against the real broker: every good frame scored once, in each
camera's order, on the scored-frames partition aiokafka's partitioner picks for the camera (stage 2's idle ticks
compute it so), bad frames to the dead-letter topic, the group's committed offsets at the end of the frames
partitions once all is acknowledged; the worker ready once both stages own their partitions."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import Producer

from infra.process import ManagedProcess, tail
from processors.selector.stage1 import stage1_group_id
from processors.settings import ProcessorSettings
from streams.committed_offsets import CommittedOffsets
from streams.records import ScoredFrame
from streams.settings import StreamsSettings
from streams.topics import Topic, spec_for, topic_name
from tests.integration.conftest import SITE, consume_all, free_port, processor_env
from tests.support.frames import produce_frames

pytestmark = pytest.mark.integration

FPS = 8.0


def _readiness(port: int) -> dict[str, bool]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2.0) as response:
            return dict(json.loads(response.read()).get("checks", {}))
    except OSError:
        return {}


def test_batched_stage1_scores_every_frame_once_in_order_and_commits_behind_its_output(
    streams_settings: StreamsSettings, tiny_bundle: Path, processes: Callable[..., ManagedProcess]
) -> None:
    prefix = streams_settings.kafka.topic_prefix
    frames_topic = topic_name(Topic.FRAMES, SITE, prefix)
    producer = Producer(streams_settings.kafka.client_config())
    published = {camera: produce_frames(producer, frames_topic, SITE, camera, 1000.0, 6.0, FPS)
                 for camera in ("cam-1", "cam-2", "cam-3")}
    for _ in range(5):
        producer.produce(frames_topic, value=b"\x00not a jpeg", key=b"garbage")
    producer.flush(30)
    port = free_port()
    env = processor_env(streams_settings, str(tiny_bundle), ACTIONSTREAM_STAGE1__ENGINE="batched",
                        ACTIONSTREAM_METRICS_PORT=str(port))
    worker = processes("selector", ["selector", "run"], env)

    deadline = time.monotonic() + 120.0
    while not _readiness(port).get("partitions"):
        assert worker.is_running() and time.monotonic() < deadline, tail(worker.log_file, 30)
        time.sleep(1.0)
    scored_topic = topic_name(Topic.SCORED_FRAMES, prefix=prefix)
    wanted = sum(len(seqs) for seqs in published.values())
    while len(records := consume_all(streams_settings, scored_topic, idle_s=1.0)) < wanted:
        assert worker.is_running() and time.monotonic() < deadline, tail(worker.log_file, 30)
        time.sleep(2.0)

    partitions = spec_for(Topic.SCORED_FRAMES).partitions
    by_camera: dict[str, list[int]] = {}
    for record in sorted(records, key=lambda record: (record.partition(), record.offset())):
        frame = ScoredFrame.from_bytes(record.value())
        assert record.partition() == DefaultPartitioner()(frame.key(), list(range(partitions)), list(range(partitions)))
        by_camera.setdefault(frame.camera, []).append(frame.seq)
    assert by_camera == published  # each once, in capture order
    letters = consume_all(streams_settings, topic_name(Topic.DEADLETTER, prefix=prefix), idle_s=1.0)
    assert len(letters) == 5
    group = stage1_group_id(prefix, ProcessorSettings().app_id)
    with CommittedOffsets(streams_settings.kafka) as offsets:
        ends = {partition: end for partition, end in offsets.ends(offsets.partitions([frames_topic])).items() if end}
        while offsets.committed(group, ends) != ends:
            assert time.monotonic() < deadline, tail(worker.log_file, 30)
            time.sleep(1.0)
    assert worker.is_running()


def test_batched_stage1_continues_where_the_faust_agents_group_left_off(
    streams_settings: StreamsSettings, tiny_bundle: Path, processes: Callable[..., ManagedProcess]
) -> None:
    """A worker upgraded from `stage1.engine: faust` starts a new group: its partitions begin at the Faust group's
    committed offsets, so the frames the old engine scored are not scored again."""
    prefix = streams_settings.kafka.topic_prefix
    frames_topic = topic_name(Topic.FRAMES, SITE, prefix)
    producer = Producer(streams_settings.kafka.client_config())
    produce_frames(producer, frames_topic, SITE, "cam-1", 1000.0, 3.0, FPS)  # scored by the old engine
    faust_group = f"{prefix}{ProcessorSettings().app_id}"
    scored_by_old_engine: dict[tuple[str, int], int] = {}
    for record in consume_all(streams_settings, frames_topic, idle_s=1.0):
        scored_by_old_engine[(frames_topic, record.partition())] = record.offset() + 1
    with CommittedOffsets(streams_settings.kafka) as offsets:
        offsets.commit(faust_group, scored_by_old_engine)
    after_upgrade = produce_frames(producer, frames_topic, SITE, "cam-1", 1003.0, 3.0, FPS)
    port = free_port()
    env = processor_env(streams_settings, str(tiny_bundle), ACTIONSTREAM_STAGE1__ENGINE="batched",
                        ACTIONSTREAM_METRICS_PORT=str(port))
    worker = processes("selector", ["selector", "run"], env)

    scored_topic = topic_name(Topic.SCORED_FRAMES, prefix=prefix)
    deadline = time.monotonic() + 120.0
    while len(records := consume_all(streams_settings, scored_topic, idle_s=1.0)) < len(after_upgrade):
        assert worker.is_running() and time.monotonic() < deadline, tail(worker.log_file, 30)
        time.sleep(2.0)
    time.sleep(2.0)  # a frame before the upgrade, scored again, would come with the others
    records = consume_all(streams_settings, scored_topic, idle_s=1.0)
    assert sorted(ScoredFrame.from_bytes(record.value()).seq for record in records) == after_upgrade


def test_batched_stage1_lag_counts_a_partition_not_consumed_yet_from_its_committed_offset_else_its_earliest(
    streams_settings: StreamsSettings,
) -> None:
    """The lag report reads only what the consumer has fetched and the offsets read at the assignment (a broker
    query per partition not consumed yet held stage 1's thread 2-3 s of every report while a backlog drained): a
    partition none of whose records was consumed counts from the group's committed offset, else its earliest."""
    from confluent_kafka import Consumer, TopicPartition

    from processors.selector.stage1 import BatchedStage1

    settings = ProcessorSettings(kafka=streams_settings.kafka, sites=[SITE], frames_discovery_s=0.0)
    frames_topic = topic_name(Topic.FRAMES, SITE, settings.kafka.topic_prefix)
    producer = Producer(streams_settings.kafka.client_config())
    for partition, count in ((0, 10), (1, 6)):
        for index in range(count):
            producer.produce(frames_topic, value=b"frame", partition=partition, key=f"k{index}".encode())
    producer.flush(30)
    stage1 = BatchedStage1(settings, holder=None, on_assigned=lambda: None)  # type: ignore[arg-type]
    config = stage1.consumer_config()
    with CommittedOffsets(settings.kafka) as offsets:
        offsets.commit(config["group.id"], {(frames_topic, 0): 4})
    consumer = Consumer(config)
    consumer.subscribe([frames_topic], on_assign=stage1._on_assign)
    try:
        deadline = time.monotonic() + 60.0
        while not (consumed := [message for message in consumer.consume(1, 0.5) if not message.error()]):
            assert time.monotonic() < deadline
        assignment = [TopicPartition(topic, partition) for topic, partition in sorted(stage1._assignment)]
        while (lag := stage1._lag(consumer, assignment)) is None:  # until every partition was fetched once
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert lag == (10 - 4) + 6 - len(consumed)
    finally:
        consumer.close()
