"""The classifier consumer against the real broker: one committed event per clip, duplicates dropped, bad
records dead-lettered, exactly once across a broker restart; the `classifier run` command stops on SIGTERM."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka import Producer
from typer.testing import CliRunner

from actionstream.cli import app
from infra.kafka.broker import KafkaBroker
from infra.process import ManagedProcess, tail
from processors.classifier_consumer import ClassifierConsumer
from processors.settings import ClassifierSettings, ProcessorSettings, ServingModelSettings
from streams.deadletter import reason_of
from streams.records import MAGIC, RECORD_FORMAT, Clip, pack
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all, processor_env
from tests.support.clips import make_clip, make_jpeg

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(streams_settings: StreamsSettings, tiny_bundle: Path, tmp_path: Path) -> ProcessorSettings:
    unique = uuid.uuid4().hex[:8]
    return ProcessorSettings(
        kafka=streams_settings.kafka,
        model=ServingModelSettings(reference=str(tiny_bundle), download_dir=tmp_path / "serving", follow_updates=False),
        classifier=ClassifierSettings(max_batch=16, max_wait_s=0.05, idle_poll_s=0.2, retry_backoff_s=0.2,
                                      transactional_id=f"classifier-{unique}", group_id=f"classifier-{unique}",
                                      transaction_timeout_ms=30_000),
        metrics_port=0,
    )


@dataclass
class _Running:
    consumer: ClassifierConsumer
    thread: threading.Thread
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)


@pytest.fixture
def start_classifier() -> Iterator[Callable[[ProcessorSettings], _Running]]:
    started: list[_Running] = []

    def _start(settings: ProcessorSettings) -> _Running:
        consumer = ClassifierConsumer(settings)
        running = _Running(consumer, threading.Thread(target=lambda: _run(running), daemon=True))
        running.thread.start()
        started.append(running)
        assert consumer.ready.wait(30.0), "the classifier got no partitions"
        return running

    def _run(running: _Running) -> None:
        try:
            running.consumer.run(running.stop)
        except BaseException as error:  # reported by the test, not lost in the thread
            running.errors.append(error)

    yield _start
    for running in started:
        running.stop.set()
        running.thread.join(30.0)
        assert not running.thread.is_alive() and not running.errors


def _producer(settings: ProcessorSettings) -> Producer:
    return Producer({**settings.kafka.client_config(), **settings.producer.client_config()})


def _wait_until(condition: Callable[[], bool], timeout_s: float, running: _Running) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert not running.errors, running.errors
        assert time.monotonic() < deadline, f"timed out; classifier stats {running.consumer.stats}"
        time.sleep(0.1)


def _clips(count: int, cameras: int = 4, seed: int = 0) -> list[Clip]:
    jpeg = make_jpeg(np.random.default_rng(seed))
    start = time.time() - 10.0
    return [make_clip(SITE, f"cam-{index % cameras}", start + 2.0 * (index // cameras), num_frames=4, jpeg=jpeg,
                      seed=seed * 100_000 + index)
            for index in range(count)]


def _event_ids(settings: ProcessorSettings) -> list[str]:
    streams = StreamsSettings(kafka=settings.kafka)
    records = consume_all(streams, topic_name(Topic.ACTIONS, SITE, settings.kafka.topic_prefix))
    return [json.loads(record.value())["event_id"] for record in records]


def test_one_event_per_clip_and_none_for_duplicates(settings: ProcessorSettings,
                                                    start_classifier: Callable[[ProcessorSettings], _Running]) -> None:
    running = start_classifier(settings)
    clips = _clips(40)
    producer = _producer(settings)
    clips_topic = topic_name(Topic.CLIPS, prefix=settings.kafka.topic_prefix)
    for clip in clips + clips[:10]:  # stage 2 re-emitted ten windows
        producer.produce(clips_topic, value=clip.to_bytes(), key=clip.key())
    assert producer.flush(30.0) == 0

    stats = running.consumer.stats
    _wait_until(lambda: stats.events + stats.duplicates >= 50, 60.0, running)
    ids = _event_ids(settings)

    assert sorted(ids) == sorted(clip.clip_id for clip in clips)
    assert (stats.events, stats.duplicates, stats.deadletters) == (40, 10, 0)
    env = {"ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
           "ACTIONSTREAM_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix}
    tail = CliRunner().invoke(app, ["tail", "actions", "--site", SITE, "--from-beginning", "--max", "40"], env=env)
    assert tail.exit_code == 0, tail.output
    lines = tail.output.splitlines()
    assert len(lines) == 40 and all(f" {SITE}/cam-" in line and " frames " in line for line in lines)


def _bad_records(good: Clip, count: int) -> list[tuple[bytes, str]]:
    """(record, kind): garbage, truncated, malformed headers, features the model does not take, NaN features."""
    rng = np.random.default_rng(7)
    encoded = good.to_bytes()
    wrong_size = make_clip(SITE, "cam-bad", good.window_start, feature_dim=100).to_bytes()
    nan_clip = make_clip(SITE, "cam-nan", good.window_start)
    nan_clip.frames[0].features[:] = np.nan
    header = json.dumps({"kind": "clip", "blob_sizes": []}).encode()
    makers: list[tuple[str, Callable[[int], bytes]]] = [
        ("garbage", lambda i: rng.bytes(int(rng.integers(0, 4000)))),
        ("truncated", lambda i: encoded[: int(rng.integers(1, len(encoded) - 1))]),
        ("bad magic", lambda i: b"XYZ" + encoded[3:]),
        ("bad json", lambda i: MAGIC + bytes([RECORD_FORMAT]) + (5).to_bytes(4, "big") + b"{nope"),
        ("missing fields", lambda i: MAGIC + bytes([RECORD_FORMAT]) + len(header).to_bytes(4, "big") + header),
        ("no frames", lambda i: pack("clip", {**json.loads(encoded[8:8 + int.from_bytes(encoded[4:8], "big")]),
                                              "frames": []}, [])),
        ("wrong feature size", lambda i: wrong_size),
        ("nan features", lambda i: nan_clip.to_bytes()),
    ]
    return [(makers[i % len(makers)][1](i), makers[i % len(makers)][0]) for i in range(count)]


def test_bad_records_go_to_the_deadletter_topic_and_the_good_ones_get_events(
        settings: ProcessorSettings, start_classifier: Callable[[ProcessorSettings], _Running]) -> None:
    running = start_classifier(settings)
    good = _clips(30, seed=1)
    bad = _bad_records(good[0], 300)
    producer = _producer(settings)
    clips_topic = topic_name(Topic.CLIPS, prefix=settings.kafka.topic_prefix)
    for index, (value, _) in enumerate(bad):
        producer.produce(clips_topic, value=value, key=f"bad-{index % 5}".encode())
        if index % 10 == 0:
            clip = good[index // 10]
            producer.produce(clips_topic, value=clip.to_bytes(), key=clip.key())
    assert producer.flush(30.0) == 0

    stats = running.consumer.stats
    _wait_until(lambda: stats.events + stats.deadletters >= 330, 60.0, running)
    assert running.thread.is_alive()  # carried on past every bad record
    letters = consume_all(StreamsSettings(kafka=settings.kafka),
                          topic_name(Topic.DEADLETTER, prefix=settings.kafka.topic_prefix))

    assert sorted(_event_ids(settings)) == sorted(clip.clip_id for clip in good)
    assert len(letters) == 300
    reasons = [reason_of(letter.headers()) for letter in letters]
    assert all(reason["stage"] == "classifier" and reason["reason"] for reason in reasons)
    assert sorted(letter.value() or b"" for letter in letters) == sorted(value for value, _ in bad)
    by_reason = Counter(reason["reason"].split(":")[0] for reason in reasons)
    kinds = Counter(kind for _, kind in bad)
    # Rejected clips share an id: a rejection must not make the next record with that id a "duplicate".
    assert by_reason["clip feature size not accepted"] == kinds["wrong feature size"]
    assert by_reason["clip features not finite"] == kinds["nan features"]


def test_exactly_one_event_per_clip_across_a_broker_restart(
        settings: ProcessorSettings, broker: KafkaBroker,
        start_classifier: Callable[[ProcessorSettings], _Running]) -> None:
    running = start_classifier(settings)
    clips = _clips(150, seed=2)
    clips_topic = topic_name(Topic.CLIPS, prefix=settings.kafka.topic_prefix)
    producer = _producer(settings)

    def produce_stream() -> None:  # keeps producing through the outage: the idempotent producer buffers
        for clip in clips:
            producer.produce(clips_topic, value=clip.to_bytes(), key=clip.key())
            producer.poll(0)
            time.sleep(0.03)

    feeder = threading.Thread(target=produce_stream, daemon=True)
    feeder.start()
    stats = running.consumer.stats
    _wait_until(lambda: stats.events >= 20, 30.0, running)
    broker.stop()
    time.sleep(1.0)
    broker.start()
    feeder.join(30.0)
    assert producer.flush(60.0) == 0

    # The committed events, not the classifier's counters: a commit whose reply the restart lost went through but
    # is counted nowhere (the classifier resumes from the committed offsets after it).
    wanted = {clip.clip_id for clip in clips}
    _wait_until(lambda: wanted <= set(_event_ids(settings)), 60.0, running)
    ids = _event_ids(settings)

    assert len(ids) == len(clips) and set(ids) == {clip.clip_id for clip in clips}


def test_the_classifier_command_serves_until_sigterm_and_stops_cleanly(
        streams_settings: StreamsSettings, tiny_bundle: Path, tmp_path: Path,
        processes: Callable[..., ManagedProcess]) -> None:
    unique = uuid.uuid4().hex[:8]
    env = processor_env(streams_settings, str(tiny_bundle), ACTIONSTREAM_MODEL__FOLLOW_UPDATES="false",
                        ACTIONSTREAM_MODEL__DOWNLOAD_DIR=str(tmp_path / "serving"),
                        ACTIONSTREAM_CLASSIFIER__GROUP_ID=f"classifier-{unique}",
                        ACTIONSTREAM_CLASSIFIER__TRANSACTIONAL_ID=f"classifier-{unique}")
    worker = processes("classifier", ["classifier", "run"], env)
    deadline = time.monotonic() + 60.0
    while "classifier ready" not in worker.log_file.read_text():
        assert worker.is_running() and time.monotonic() < deadline, tail(worker.log_file, 30)
        time.sleep(0.2)
    clips = _clips(8, seed=3)
    producer = Producer({**streams_settings.kafka.client_config(), "enable.idempotence": True})
    for clip in clips:
        producer.produce(topic_name(Topic.CLIPS, prefix=streams_settings.kafka.topic_prefix), value=clip.to_bytes(),
                         key=clip.key())
    assert producer.flush(30.0) == 0

    actions = topic_name(Topic.ACTIONS, SITE, streams_settings.kafka.topic_prefix)
    ids: list[str] = []
    while len(ids) < len(clips):
        assert worker.is_running() and time.monotonic() < deadline, tail(worker.log_file, 30)
        ids = [json.loads(record.value())["event_id"] for record in consume_all(streams_settings, actions, 1.0)]
    worker.stop(timeout_s=20.0)

    assert sorted(ids) == sorted(clip.clip_id for clip in clips)
    log = worker.log_file.read_text()
    assert "classifier stopped: ClassifierStats(events=8" in log, tail(worker.log_file, 30)
    assert "Traceback" not in log and "killing it" not in log


def _records(settings: StreamsSettings, topic: Topic, site: str | None = None) -> list[dict[str, object]]:
    return [json.loads(record.value())
            for record in consume_all(settings, topic_name(topic, site, settings.kafka.topic_prefix), idle_s=2.0)]


def test_outcomes_actions_and_incidents_exactly_once_across_a_killed_classifier_and_a_replay(
        streams_settings: StreamsSettings, tiny_bundle: Path, tmp_path: Path,
        processes: Callable[..., ManagedProcess]) -> None:
    unique = uuid.uuid4().hex[:8]
    env = processor_env(streams_settings, str(tiny_bundle), ACTIONSTREAM_MODEL__FOLLOW_UPDATES="false",
                        ACTIONSTREAM_MODEL__DOWNLOAD_DIR=str(tmp_path / "serving"),
                        ACTIONSTREAM_CLASSIFIER__GROUP_ID=f"classifier-{unique}",
                        ACTIONSTREAM_CLASSIFIER__TRANSACTIONAL_ID=f"classifier-{unique}",
                        ACTIONSTREAM_CLASSIFIER__MAX_BATCH="4")
    clips = _clips(80, cameras=4, seed=4)  # 20 consecutive windows per camera
    clips_topic = topic_name(Topic.CLIPS, prefix=streams_settings.kafka.topic_prefix)
    producer = Producer({**streams_settings.kafka.client_config(), "enable.idempotence": True})

    def produce(batch: list[Clip]) -> None:
        for clip in batch:
            producer.produce(clips_topic, value=clip.to_bytes(), key=clip.key())
        assert producer.flush(30.0) == 0

    def outcomes() -> list[dict[str, object]]:
        return _records(streams_settings, Topic.OUTCOMES)

    first = processes("classifier-1", ["classifier", "run"], env)
    produce(clips[:40])
    deadline = time.monotonic() + 90.0
    while len(outcomes()) < 20:
        assert first.is_running() and time.monotonic() < deadline, tail(first.log_file, 30)
    first.kill()  # SIGKILL mid-stream: an open transaction is left to the coordinator
    second = processes("classifier-2", ["classifier", "run"], env)
    produce(clips[:30] + clips[40:])  # stage 2 replays windows the first instance already classified
    while len(outcomes()) < len(clips):
        assert second.is_running() and time.monotonic() < deadline + 90.0, tail(second.log_file, 30)
    time.sleep(2.0)  # anything doubled would show up by now

    windows = Counter((record["camera"], record["window_start"]) for record in outcomes())
    assert len(windows) == len(clips) and set(windows.values()) == {1}
    actions = _records(streams_settings, Topic.ACTIONS, SITE)
    action_windows = [record["event_id"] for record in outcomes() if record["outcome"] == "action"]
    assert sorted(record["event_id"] for record in actions) == sorted(action_windows)  # type: ignore[type-var]
    incidents = _records(streams_settings, Topic.INCIDENTS, SITE)
    sequences: dict[object, list[object]] = {}
    for record in incidents:
        sequences.setdefault(record["incident_id"], []).append(record["sequence"])
    assert incidents and all(numbers == list(range(len(numbers))) for numbers in sequences.values())
    assert sum(record["phase"] == "start" for record in incidents) == len(sequences)
    assert "classifier state of 4 cameras restored" in second.log_file.read_text()
