"""The archive sink on the real broker: scored frames, outcomes and labels in, segment files out, offsets
committed once the data is on disk, bad records in the dead-letter topic with their reasons; the export of
what it stored is a UCF101-layout set that training reads; the `archive sink` command stops on SIGTERM."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from infra.process import ManagedProcess, tail
from processors.archive.export import export_training_set
from processors.archive.settings import ArchiveOptions, ArchiveSettings
from processors.archive.sink import ArchiveSink
from processors.archive.storage import Kind, list_segments, read_entries
from streams.deadletter import reason_of
from streams.schemas import Label
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all, processor_env
from tests.support.features import flat_jpeg, make_outcome, make_scored_frame
from training.ucf101 import Ucf101Index

pytestmark = pytest.mark.integration

SECONDS = 20
FPS = 8


def _produce(settings: StreamsSettings, t0: float) -> int:
    """Cameras a (wave) and b (walk): 20 s of frames at 8 fps, a labelled outcome every 2 s, and four bad
    records. Returns the number of records on the scored-frames topic."""
    prefix = settings.kafka.topic_prefix
    frames_topic = topic_name(Topic.SCORED_FRAMES, prefix=prefix)
    outcomes_topic = topic_name(Topic.OUTCOMES, prefix=prefix)
    labels_topic = topic_name(Topic.LABELS, SITE, prefix)
    producer = Producer(settings.kafka.client_config())
    rng, jpeg = np.random.default_rng(0), flat_jpeg(120, size=64)
    for camera, label in (("a", "wave"), ("b", "walk")):
        for seq in range(SECONDS * FPS):
            frame = make_scored_frame(SITE, camera, t0 + seq / FPS, seq=seq, jpeg=jpeg,
                                      features=rng.standard_normal(16).astype(np.float16))
            producer.produce(frames_topic, key=frame.key(), value=frame.to_bytes())
        for start in range(0, SECONDS - 3, 2):
            outcome = make_outcome(SITE, camera, t0 + start)
            producer.produce(outcomes_topic, key=outcome.key(), value=outcome.to_json_bytes())
            labelled = Label(event_id=outcome.event_id, label=label, source="test")
            producer.produce(labels_topic, key=labelled.key(), value=labelled.to_json_bytes())
    poisoned = make_scored_frame(SITE, "a", t0, features=np.array([math.nan], dtype=np.float16))
    bad = [(frames_topic, b"garbage"), (frames_topic, poisoned.to_bytes()), (outcomes_topic, b"{not json"),
           (labels_topic, b'{"event_id": "e", "label": ""}')]
    for topic, value in bad:
        producer.produce(topic, key=b"bad", value=value)
    assert producer.flush(30.0) == 0
    return 2 * SECONDS * FPS + 2


def test_the_sink_archives_and_the_export_loads_as_a_training_set(
    streams_settings: StreamsSettings, tmp_path: Path,
) -> None:
    t0 = math.floor(time.time() / 60) * 60 - 600.0  # ten minutes ago, on a test-block edge
    settings = ArchiveSettings(
        kafka=streams_settings.kafka, sites=[SITE], metrics_port=0,
        archive=ArchiveOptions(root=tmp_path / "archive", group_id=f"archive-{uuid.uuid4().hex[:8]}", flush_s=0.5,
                               poll_s=0.2, test_block_s=10.0, test_share=0.5),
    )
    frames_on_topic = _produce(streams_settings, t0)
    sink = ArchiveSink(settings)
    stop, failures = threading.Event(), []

    def run() -> None:
        try:
            sink.run(stop)
        except Exception as error:  # reported below, not lost in the thread
            failures.append(error)

    thread = threading.Thread(target=run, name="archive-sink")
    thread.start()
    deadline = time.monotonic() + 90.0
    while time.monotonic() < deadline and (sink.stats.frames, sink.stats.outcomes, sink.stats.labels,
                                           sink.stats.deadletters) != (320, 18, 18, 4):
        time.sleep(0.2)
    stop.set()
    thread.join(30.0)
    assert not thread.is_alive() and not failures
    assert (sink.stats.frames, sink.stats.outcomes, sink.stats.labels, sink.stats.deadletters) == (320, 18, 18, 4)

    # Everything consumed was committed (at the stop, after the last sync).
    frames_topic = topic_name(Topic.SCORED_FRAMES, prefix=settings.kafka.topic_prefix)
    probe = Consumer({**settings.kafka.client_config(), "group.id": settings.archive.group_id})
    committed = probe.committed([TopicPartition(frames_topic, partition) for partition in range(12)], timeout=10.0)
    probe.close()
    assert sum(max(position.offset, 0) for position in committed) == frames_on_topic

    letters = consume_all(streams_settings, topic_name(Topic.DEADLETTER, prefix=settings.kafka.topic_prefix),
                          idle_s=2.0)
    reasons = sorted(reason_of(letter.headers())["reason"] for letter in letters)
    assert {reason_of(letter.headers())["stage"] for letter in letters} == {"archive-sink"}
    assert [reason.split(" ")[0:2] for reason in reasons] == [
        ["invalid", "label:"], ["invalid", "outcome:"], ["not", "a"], ["scored", "frame"]]
    assert "non-finite" in reasons[3]

    summary = export_training_set(settings, SITE, tmp_path / "set")
    index = Ucf101Index.from_folder(tmp_path / "set")
    assert index.classes == ["walk", "wave"]
    # windows start t0, t0 + 2, ..., t0 + 16; blocks of 10 s, the second held out; the window at t0 + 8
    # overlaps the test window at t0 + 10 and is in neither subset
    assert (index.class_counts("train"), index.class_counts("test"), summary.embargoed) == ([4, 4], [4, 4], 2)
    with np.load(tmp_path / "set/features.npz") as cache:
        assert cache["features"].shape == (16, 32, 16) and cache["mask"].all()


def test_the_sink_command_archives_and_stops_on_sigterm(
    streams_settings: StreamsSettings, processes: Callable[..., ManagedProcess], tmp_path: Path,
) -> None:
    root = tmp_path / "archive"
    env = processor_env(streams_settings, "unused", ACTIONSTREAM_ARCHIVE__ROOT=str(root),
                        ACTIONSTREAM_ARCHIVE__GROUP_ID=f"archive-{uuid.uuid4().hex[:8]}",
                        ACTIONSTREAM_ARCHIVE__FLUSH_S="0.5")
    sink = processes("archive", ["archive", "sink"], env)
    producer = Producer(streams_settings.kafka.client_config())
    frames_topic = topic_name(Topic.SCORED_FRAMES, prefix=streams_settings.kafka.topic_prefix)
    t0 = time.time() - 30.0
    for seq in range(16):
        frame = make_scored_frame(SITE, "door", t0 + seq / FPS, seq=seq, jpeg=flat_jpeg(80, size=64))
        producer.produce(frames_topic, key=frame.key(), value=frame.to_bytes())
    assert producer.flush(30.0) == 0

    deadline, stored = time.monotonic() + 60.0, 0
    while time.monotonic() < deadline and stored < 16:
        stored = sum(len(list(read_entries(segment.path))) for segment in list_segments(root, Kind.FRAMES, SITE))
        time.sleep(0.3)
    assert stored == 16, tail(sink.log_file, 30)
    sink.stop(timeout_s=20.0)
    log = sink.log_file.read_text()
    assert "archive sink stopped: ArchiveStats(frames=16" in log, tail(sink.log_file, 30)
    assert "Traceback" not in log
