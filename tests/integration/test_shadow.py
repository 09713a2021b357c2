"""Shadow -> promotion on the real broker: the classifier consumer serves @production and loads the candidate the
shadow run points the `shadow` alias at; the candidate's results go to shadow-outcomes only (every action event
stays production's); labels reach the shadow windows; the run judges the candidate on them and passes it; the
promotion then moves production and the consumer stops shadowing (the shadow is production)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka import Consumer, Producer

from models.registry import RegistrySettings, alias_version, set_alias
from processors.classifier_consumer import ClassifierConsumer
from processors.retrain.shadow import ShadowSettings
from processors.retrain.shadow_run import ShadowRunner
from processors.serving import publish_model_update
from processors.settings import ClassifierSettings, ProcessorSettings, ServingModelSettings
from streams.schemas import ActionEvent, Label, ModelUpdate, RetrainRequest, ShadowOutcome
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all
from tests.support.bundles import make_tiny_bundle, register_bundle
from tests.support.clips import make_clip, make_jpeg
from training.tracking import TrackingSettings

pytestmark = pytest.mark.integration

MODEL = "shadow-model"
CLASSES = ["walk", "wave", "jump"]


@pytest.fixture
def tracking(tmp_path: Path, tiny_bundle: Path) -> TrackingSettings:
    """Version 1 @production, version 2 (other weights) the candidate."""
    settings = TrackingSettings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=tmp_path / "art",
                                experiment="shadow", registered_model=MODEL)
    register_bundle(settings, tiny_bundle)
    register_bundle(settings, make_tiny_bundle(tmp_path / "candidate", CLASSES, seed=1,
                                               encoder_onnx=tiny_bundle / "encoder.onnx"))
    set_alias(settings, "1", "production")
    return settings


class _Background:
    """Threads that run until the test ends: the classifier, a clip feed, a labeller."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def start(self, target: Callable[[threading.Event], object], stop: threading.Event | None = None) -> None:
        def run() -> None:
            try:
                target(stop or self.stop)
            except BaseException as error:  # reported by the test, not lost in the thread
                self.errors.append(error)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)


@pytest.fixture
def background() -> Iterator[_Background]:
    running = _Background()
    yield running
    running.stop.set()
    for thread in running.threads:
        thread.join(30.0)
    assert not running.errors, running.errors


def _feed(streams: StreamsSettings, start: float) -> Callable[[threading.Event], None]:
    """Two cameras' clips from event time `start`, one window every 0.25 s each (4 s windows, event time running
    ahead). The classifier swaps models between batches, so a switch needs clips flowing."""
    def run(stop: threading.Event) -> None:
        producer = Producer(streams.kafka.client_config())
        jpeg = make_jpeg(np.random.default_rng(0))
        index = 0
        while not stop.is_set():
            for camera in ("cam-0", "cam-1"):
                clip = make_clip(SITE, camera, start + 4.0 * index, num_frames=4, jpeg=jpeg, seed=index)
                producer.produce(topic_name(Topic.CLIPS, prefix=streams.kafka.topic_prefix), clip.to_bytes(),
                                 clip.key())
            producer.poll(0)
            index += 1
            time.sleep(0.25)
        producer.flush(10.0)
    return run


def _labeller(streams: StreamsSettings) -> Callable[[threading.Event], None]:
    """Labels every shadow window with the candidate's label: in this test the candidate is always right."""
    def run(stop: threading.Event) -> None:
        prefix = streams.kafka.topic_prefix
        consumer = Consumer({**streams.kafka.client_config(), "group.id": f"labeller-{uuid.uuid4().hex[:8]}",
                             "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
        consumer.subscribe([topic_name(Topic.SHADOW_OUTCOMES, prefix=prefix)])
        producer = Producer(streams.kafka.client_config())
        try:
            while not stop.is_set():
                message = consumer.poll(0.2)
                if message is None or message.error() is not None:
                    continue
                shadow = ShadowOutcome.model_validate_json(message.value() or b"")
                label = Label(event_id=shadow.event_id, label=shadow.label, source="test")
                producer.produce(topic_name(Topic.LABELS, SITE, prefix), label.to_json_bytes(), label.key())
                producer.poll(0)
        finally:
            producer.flush(10.0)
            consumer.close()
    return run


def _wait(condition: Callable[[], bool], what: str, background: _Background, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert not background.errors, background.errors
        assert time.monotonic() < deadline, f"no {what} in {timeout_s} s"
        time.sleep(0.2)


def test_a_candidate_in_shadow_is_judged_on_live_windows_then_promoted(
    streams_settings: StreamsSettings, tracking: TrackingSettings, tmp_path: Path, background: _Background,
) -> None:
    registry = RegistrySettings(tracking_uri=tracking.tracking_uri, registered_model=MODEL)
    unique = uuid.uuid4().hex[:8]
    consumer = ClassifierConsumer(ProcessorSettings(
        kafka=streams_settings.kafka, metrics_port=0,
        model=ServingModelSettings(reference="production", registry=registry, download_dir=tmp_path / "serving"),
        classifier=ClassifierSettings(max_batch=16, max_wait_s=0.05, idle_poll_s=0.2, retry_backoff_s=0.2,
                                      transactional_id=f"classifier-{unique}", group_id=f"classifier-{unique}"),
    ))
    assert consumer.shadow is not None and consumer.shadow.active is None  # no shadow alias yet
    background.start(consumer.run)
    feeding = threading.Event()  # set: the clip feed and the labeller stop
    started = time.time() - 600.0
    background.start(_feed(streams_settings, started), feeding)
    background.start(_labeller(streams_settings), feeding)
    _wait(consumer.ready.is_set, "classifier assignment", background)

    runner = ShadowRunner(streams_settings.kafka, tracking, ShadowSettings(duration_s=20.0, min_windows=10,
                                                                           min_labels=5))
    request = RetrainRequest(request_id="shadow-1", site=SITE, cause="data_drift", reason="test", evidence=[],
                             report_ids=[], cameras=["cam-0"], data_start=0.0, data_end=1.0, model_version="1")
    verdict = runner(request, "2", "1", tmp_path / "shadow")
    feeding.set()  # the topics stop growing, so they can be read to their end
    print(verdict)

    assert verdict.promote, verdict.reasons
    live = verdict.live
    assert live is not None and live.windows >= 10 and live.labels >= 5 and live.agreement is not None
    assert live.observed_accuracy == 1.0 and live.reference_observed_accuracy is not None
    assert verdict.reasons[0].startswith("shadow run: ")
    assert alias_version(tracking, "shadow") == "2"
    prefix = streams_settings.kafka.topic_prefix
    shadows = [ShadowOutcome.model_validate_json(message.value() or b"")
               for message in consume_all(streams_settings, topic_name(Topic.SHADOW_OUTCOMES, prefix=prefix), 1.0)]
    assert {(shadow.model_version, shadow.production_version) for shadow in shadows} == {(f"{MODEL}/2", f"{MODEL}/1")}
    actions = [ActionEvent.model_validate_json(message.value() or b"")
               for message in consume_all(streams_settings, topic_name(Topic.ACTIONS, SITE, prefix), 1.0)]
    assert actions and {action.model_version for action in actions} == {f"{MODEL}/1"}  # never the candidate's

    # The promotion the retrain worker makes next: production moves, the consumer switches and stops shadowing.
    background.start(_feed(streams_settings, started + 100_000.0))  # later windows: not replays
    set_alias(tracking, "2", "production")
    publish_model_update(streams_settings.kafka, ModelUpdate(model=MODEL, alias="production", version="2"))
    _wait(lambda: consumer.holder.current.version == f"{MODEL}/2", "the switch to the promoted version", background)
    _wait(lambda: consumer.shadow is not None and consumer.shadow.active is None, "the end of shadowing", background)
