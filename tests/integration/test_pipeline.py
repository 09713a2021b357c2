"""The whole stream against the real broker and RTSP server: an RTSP camera -> adapter -> selector worker ->
classifier -> actions, with garbage injected into the frames and clips topics and a model promoted mid-stream."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from confluent_kafka import Producer

from infra.process import ManagedProcess, tail
from infra.rtsp.publisher import FeedPublisher
from models.registry import set_alias
from processors.serving import publish_model_update
from streams.deadletter import reason_of
from streams.records import Clip
from streams.schemas import ActionEvent, ModelUpdate
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all, processor_env
from tests.support.bundles import make_tiny_bundle, register_bundle
from training.tracking import TrackingSettings

pytestmark = pytest.mark.integration

HOP_S = 2.0


def _garbage(producer: Producer, topic: str, count: int) -> None:
    cases = [b"", b"\x00" * 64, b"ASR\x01\x00\x00\x00\x10{not json", b"ASR\x01\x00\x00\x00\x02{}", b"x" * 70_000]
    for index in range(count):
        producer.produce(topic, value=cases[index % len(cases)], key=b"garbage")
    producer.flush(30)


def _wait_until(condition: Callable[[], bool], timeout_s: float, processes: list[ManagedProcess], what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(tail(process.log_file, 25) for process in processes)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(2.0)


def test_camera_to_actions_with_garbage_and_a_model_update(
    streams_settings: StreamsSettings, tiny_bundle: Path, tmp_path: Path,
    publish: Callable[..., FeedPublisher], processes: Callable[..., ManagedProcess],
) -> None:
    tracking = TrackingSettings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=tmp_path / "art",
                                experiment="pipeline", registered_model="pipeline-model")
    classes = ["walk", "wave", "jump"]
    first = register_bundle(tracking, tiny_bundle)
    second = register_bundle(tracking, make_tiny_bundle(tmp_path / "v2", classes, seed=1,
                                                  encoder_onnx=tiny_bundle / "encoder.onnx"))
    set_alias(tracking, first, "production")
    env = processor_env(streams_settings, "production",
                        ACTIONSTREAM_MODEL__REGISTRY__TRACKING_URI=tracking.tracking_uri,
                        ACTIONSTREAM_MODEL__REGISTRY__REGISTERED_MODEL=tracking.registered_model,
                        ACTIONSTREAM_MODEL__DOWNLOAD_DIR=str(tmp_path / "serving"))
    publisher = publish(f"{streams_settings.kafka.topic_prefix}cam")
    config = tmp_path / "cameras.yaml"
    config.write_text(yaml.safe_dump({"site": SITE, "cameras": [
        {"id": "cam-1", "kind": "rtsp", "url": publisher.url, "sample_fps": 8.0}]}))
    selector = processes("selector", ["selector", "run"], env)
    classifier = processes("classifier", ["classifier", "run"], env)
    workers = [selector, classifier]
    adapter = processes("cameras", ["cameras", "run", "--config", str(config)], env)
    prefix = streams_settings.kafka.topic_prefix
    actions_topic = topic_name(Topic.ACTIONS, SITE, prefix)

    def events() -> list[ActionEvent]:
        return [ActionEvent.model_validate_json(record.value())
                for record in consume_all(streams_settings, actions_topic, idle_s=1.5)]

    _wait_until(lambda: len(events()) >= 3, 120, [*workers, adapter], "the first action events")
    producer = Producer({**streams_settings.kafka.client_config(), "message.max.bytes": 8 * 1024 * 1024})
    _garbage(producer, topic_name(Topic.FRAMES, SITE, prefix), 500)
    _garbage(producer, topic_name(Topic.CLIPS, prefix=prefix), 500)
    set_alias(tracking, second, "production")
    publish_model_update(streams_settings.kafka, ModelUpdate(model=tracking.registered_model, alias="production",
                                                             version=second))
    switched = f"{tracking.registered_model}/{second}"
    _wait_until(lambda: sum(event.model_version == switched for event in events()) >= 3, 120,
                [*workers, adapter], "events from the promoted version")
    adapter.stop()
    clips_topic = topic_name(Topic.CLIPS, prefix=prefix)

    def clip_ids() -> set[str]:
        return {Clip.from_bytes(record.value()).clip_id for record in consume_all(streams_settings, clips_topic)
                if record.key() != b"garbage"}

    _wait_until(lambda: clip_ids() <= {event.event_id for event in events()}, 60, workers, "every clip's event")

    # The camera's last window may still close (idle timeout) meanwhile: every clip seen before has its event,
    # and every event has its clip.
    clips = clip_ids()
    final = events()
    ids = [event.event_id for event in final]
    assert len(ids) == len(set(ids)), "an action event was published twice"
    assert clips <= set(ids) <= clip_ids()
    # One camera, one window per hop: consecutive windows, none skipped across the model switch.
    starts = sorted(event.window_start for event in final)
    assert all(later - earlier == pytest.approx(HOP_S) for earlier, later in itertools.pairwise(starts))
    versions = [event.model_version for event in sorted(final, key=lambda event: event.window_start)]
    old = f"{tracking.registered_model}/{first}"
    assert versions[0] == old and versions[-1] == switched
    assert versions == sorted(versions, key=lambda version: version == switched), "versions interleave"
    assert all(event.label in classes and len(event.frames) == 2 for event in final)

    letters = consume_all(streams_settings, topic_name(Topic.DEADLETTER, prefix=prefix))
    stages = [reason_of(letter.headers())["stage"] for letter in letters]
    assert stages.count("stage1") == 500 and stages.count("classifier") == 500
    assert all(worker.is_running() for worker in workers)
