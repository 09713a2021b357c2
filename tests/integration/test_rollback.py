"""Promotion -> automatic rollback on the real broker: the rollback guard reads a promotion from retrain-results and
the drift job's reports; the promoted model's label-free estimate falls well below its parent's, so the guard
moves the production alias back, publishes the model-update (serving switches back) and its own rolled_back
result with reasons and figures. The guard is restarted mid-watch and resumes it from its saved state."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka import Producer

from models.registry import RegistrySettings, alias_version, set_alias
from processors.retrain.guard import GuardOptions, GuardSettings, RollbackGuard
from processors.retrain.rollback import RollbackSettings
from processors.serving import ModelHolder
from processors.settings import ServingModelSettings
from streams.schemas import DriftReport, ModelUpdate, RetrainResult, RetrainTimings
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all
from tests.support.bundles import make_tiny_bundle, register_bundle
from training.tracking import TrackingSettings

pytestmark = pytest.mark.integration

MODEL = "rollback-model"


@pytest.fixture
def tracking(tmp_path: Path, tiny_bundle: Path) -> TrackingSettings:
    """Version 1 (the parent) and version 2 (promoted over it, now @production)."""
    settings = TrackingSettings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=tmp_path / "art",
                                experiment="rollback", registered_model=MODEL)
    register_bundle(settings, tiny_bundle)
    register_bundle(settings, make_tiny_bundle(tmp_path / "promoted", ["walk", "wave", "jump"], seed=1,
                                               encoder_onnx=tiny_bundle / "encoder.onnx"))
    set_alias(settings, "2", "production")
    return settings


def _report(version: str, camera: str, index: int, estimated: float) -> DriftReport:
    start = time.time() - 3600 + 60.0 * index
    return DriftReport(
        report_id=f"{version}-{camera}-{index}", site=SITE, camera=camera, reference=version,
        reference_kind="training", window_start=start, window_end=start + 60, frames=100, outcomes=15, scores=[],
        drifted_columns=[], share_drifted=0.0, embedding_mmd2=None, embedding_p_value=None,
        estimated_accuracy=estimated, estimated_accuracy_stderr=0.03, reference_accuracy=0.9,
        observed_accuracy=None, observed_macro_f1=None, labels=0, causes=[], verdict="ok",
        model_version=f"{MODEL}/{version}")


def _promotion() -> RetrainResult:
    return RetrainResult(request_id="promote-2", site=SITE, outcome="promoted", reasons=["better on new data"],
                         new_data=None, base_test=None, candidate_version="2", production_version="1", data=None,
                         timings=RetrainTimings(data_s=0, training_s=1, evaluation_s=1, total_s=2), attempt=1)


def _publish(streams: StreamsSettings, topic: Topic, *events: DriftReport | RetrainResult) -> None:
    producer = Producer(streams.kafka.client_config())
    for event in events:
        producer.produce(topic_name(topic, prefix=streams.kafka.topic_prefix), value=event.to_json_bytes(),
                         key=event.key())
    assert producer.flush(30) == 0


@pytest.fixture
def start_guard(tmp_path: Path, streams_settings: StreamsSettings,
                tracking: TrackingSettings) -> Iterator[Callable[[], tuple[RollbackGuard, threading.Event]]]:
    running: list[tuple[threading.Thread, threading.Event]] = []
    group = f"rollback-{uuid.uuid4().hex[:8]}"

    def _start() -> tuple[RollbackGuard, threading.Event]:
        settings = GuardSettings(kafka=streams_settings.kafka, tracking=tracking,
                                 rollback=RollbackSettings(min_windows=8),
                                 guard=GuardOptions(group_id=group, state_dir=tmp_path / "guard", commit_s=0.5))
        guard, stop = RollbackGuard(settings), threading.Event()
        thread = threading.Thread(target=guard.run, args=(stop,), daemon=True)
        thread.start()
        running.append((thread, stop))
        return guard, stop

    yield _start
    for thread, stop in running:
        stop.set()
        thread.join(20.0)


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"no {what} in {timeout_s} s"
        time.sleep(0.2)


def test_a_promotion_that_does_worse_live_is_rolled_back_once_across_a_guard_restart(
    streams_settings: StreamsSettings, tracking: TrackingSettings, tmp_path: Path,
    start_guard: Callable[[], tuple[RollbackGuard, threading.Event]],
) -> None:
    registry = RegistrySettings(tracking_uri=tracking.tracking_uri, registered_model=MODEL)
    holder = ModelHolder(ServingModelSettings(reference="production", registry=registry,
                                              download_dir=tmp_path / "serving"), streams_settings.kafka, "test")
    assert holder.current.version == f"{MODEL}/2"
    holder.follow()
    rng = np.random.default_rng(0)
    parent = [_report("1", f"cam{index % 2}", index, float(0.85 + rng.normal(0, 0.02))) for index in range(12)]
    _publish(streams_settings, Topic.DRIFT_REPORTS, *parent)
    _publish(streams_settings, Topic.RETRAIN_RESULTS, _promotion())

    guard, stop = start_guard()
    _wait(lambda: bool(guard.policy.state.watches), "watch of the promotion")
    drops = [_report("2", f"cam{index % 2}", 12 + index, float(0.62 + rng.normal(0, 0.02))) for index in range(10)]
    _publish(streams_settings, Topic.DRIFT_REPORTS, *drops[:5])
    _wait(lambda: guard.policy.state.figures.get(f"{MODEL}/2", None) is not None
          and guard.policy.state.figures[f"{MODEL}/2"].windows == 5, "the first windows of the promoted model")
    stop.set()  # restarted mid-watch: 5 windows, below min_windows, nothing decided yet
    time.sleep(1.0)
    assert guard.rollbacks == 0 and alias_version(tracking, "production") == "2"

    restarted, _ = start_guard()
    assert [watch.version for watch in restarted.policy.state.watches] == [f"{MODEL}/2"]
    _publish(streams_settings, Topic.DRIFT_REPORTS, *drops[5:])
    _wait(lambda: restarted.rollbacks == 1, "rollback")

    assert alias_version(tracking, "production") == "1"
    results = [RetrainResult.model_validate_json(message.value() or b"") for message in consume_all(
        streams_settings, topic_name(Topic.RETRAIN_RESULTS, prefix=streams_settings.kafka.topic_prefix), 2.0)]
    [rollback] = [result for result in results if result.outcome == "rolled_back"]
    print(rollback.model_dump_json(indent=1))
    assert (rollback.request_id, rollback.candidate_version, rollback.production_version) == ("promote-2", "2", "1")
    assert rollback.reasons[0].startswith("label-free estimate 0.6") and f"{MODEL}/1" in rollback.reasons[0]
    assert rollback.live is not None and (rollback.live.windows, rollback.live.reference_windows) == (10, 12)
    updates = [ModelUpdate.model_validate_json(message.value() or b"") for message in consume_all(
        streams_settings, topic_name(Topic.MODEL_UPDATES, prefix=streams_settings.kafka.topic_prefix), 2.0)]
    assert [(update.alias, update.version) for update in updates] == [("production", "1")]
    _wait(holder.swap_if_ready, "serving switch back to the parent")
    assert holder.current.version == f"{MODEL}/1"
    holder.close()
