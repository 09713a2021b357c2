"""The retrain worker against the real broker, with tiny training: request -> candidate -> evaluation ->
promotion -> model-update -> serving switch; a duplicate request skipped; a candidate trained on shuffled
labels refused with its reasons in the result event; a worker killed mid-training, the request completed
exactly once by the next worker."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from infra.process import ManagedProcess, tail
from models.registry import RegistrySettings, alias_version, find_versions, set_alias, version_tags
from processors.retrain.lineage import PARENT_TAG, REQUEST_TAG
from processors.retrain.settings import WorkerOptions
from processors.serving import ModelHolder
from processors.settings import ServingModelSettings
from streams.schemas import ModelUpdate, RetrainRequest, RetrainResult
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all
from tests.support.bundles import make_tiny_bundle, register_bundle
from training.synth import SynthSettings, generate_dataset
from training.tracking import TrackingSettings
from training.ucf101 import Ucf101Index

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL = "retrain-model"
# A tiny candidate (seconds of training) over the worker's retrain config.
TINY_TRAINING = ["features.num_candidates=12", "features.calibration_frames=8", "classifier.epochs=25",
                 "classifier.oracle_folds=2", "selectors.num_frames=2", "selectors.single_epochs=15",
                 "selectors.global_epochs=10", "selectors.global_hidden_dim=64", "selectors.batch_size=4"]
RESULT_TIMEOUT_S = 600.0


def _synth(root: Path, seed: int, test_groups: int) -> Path:
    settings = SynthSettings(num_classes=3, clips_per_class=12, groups=4, test_groups=test_groups, width=96,
                             height=72, fps=12.0, seconds=2.0, seed=seed)
    return generate_dataset(settings, root, progress=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The base set (27 train, 9 test videos), labelled windows (9 train, 27 held out), and copies of both
    whose training lists have shuffled labels (held-out lists keep the truth)."""
    root = tmp_path_factory.mktemp("retrain-data")
    sets = {"base": _synth(root / "base", seed=0, test_groups=1), "labelled": _synth(root / "new", seed=1,
                                                                                      test_groups=3)}
    for name in ("base", "labelled"):
        sets[f"shuffled_{name}"] = _shuffled(sets[name], root / f"shuffled-{name}")
    sets["features"] = root / "features"
    return sets


def _shuffled(source: Path, out: Path, seed: int = 0) -> Path:
    index = Ucf101Index.from_folder(source)
    labels = np.random.default_rng(seed).permutation([item.label for item in index.train])
    lists = out / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text((index.lists_root / "classInd.txt").read_text())
    train_lines, test_lines = [], []
    for item, label in zip(index.train, labels, strict=True):
        train_lines.append(f"{_link(out, index.classes[label], item.path)} {label + 1}\n")
    for item in index.test:
        test_lines.append(f"{_link(out, item.class_name, item.path)}\n")
    (lists / "trainlist01.txt").write_text("".join(train_lines))
    (lists / "testlist01.txt").write_text("".join(test_lines))
    return out


def _link(root: Path, class_name: str, video: Path) -> str:
    relative = f"{class_name}/{video.name}"
    (root / "UCF-101" / class_name).mkdir(parents=True, exist_ok=True)
    (root / "UCF-101" / relative).symlink_to(video.resolve())
    return relative


@pytest.fixture
def tracking(tmp_path: Path, data: dict[str, Path]) -> TrackingSettings:
    """A fresh registry whose @production is an untrained bundle (version 1) with the data's classes."""
    settings = TrackingSettings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=tmp_path / "art",
                                experiment="retrain", registered_model=MODEL)
    classes = Ucf101Index.from_folder(data["base"]).classes
    version = register_bundle(settings, make_tiny_bundle(tmp_path / "production", classes))
    set_alias(settings, version, "production")
    return settings


def _worker_env(streams: StreamsSettings, tracking: TrackingSettings, work_dir: Path, base: Path,
                labelled: Path, features: Path) -> dict[str, str]:
    return {
        "ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS": streams.kafka.bootstrap_servers,
        "ACTIONSTREAM_KAFKA__TOPIC_PREFIX": streams.kafka.topic_prefix,
        "ACTIONSTREAM_TRACKING__TRACKING_URI": tracking.tracking_uri,
        "ACTIONSTREAM_TRACKING__ARTIFACT_ROOT": str(tracking.artifact_root),
        "ACTIONSTREAM_TRACKING__EXPERIMENT": tracking.experiment,
        "ACTIONSTREAM_TRACKING__REGISTERED_MODEL": tracking.registered_model,
        "ACTIONSTREAM_RETRAIN__BASE_DATA": str(base),
        "ACTIONSTREAM_RETRAIN__LABELLED_DIR": str(labelled),
        "ACTIONSTREAM_RETRAIN__WORK_DIR": str(work_dir),
        "ACTIONSTREAM_RETRAIN__TRAIN_OVERRIDES": json.dumps([*TINY_TRAINING, f"features.cache_dir={features}"]),
        "ACTIONSTREAM_PROMOTION__MIN_NEW_EXAMPLES": "10",
        "ACTIONSTREAM_WORKER__TRANSACTIONAL_ID": f"retrain-{uuid.uuid4().hex[:8]}",
        "OMP_NUM_THREADS": "2",
    }


def _request(request_id: str) -> RetrainRequest:
    now = time.time()
    return RetrainRequest(request_id=request_id, site=SITE, cause="data_drift", reason="test", evidence=[],
                          report_ids=["r1"], cameras=["cam1"], data_start=now - 60, data_end=now, model_version="1")


def _publish(streams: StreamsSettings, *requests: RetrainRequest) -> None:
    producer = Producer(streams.kafka.client_config())
    for request in requests:
        producer.produce(topic_name(Topic.RETRAIN_REQUESTS, prefix=streams.kafka.topic_prefix),
                         value=request.to_json_bytes(), key=request.key())
    assert producer.flush(30) == 0


def _results(streams: StreamsSettings) -> list[RetrainResult]:
    topic = topic_name(Topic.RETRAIN_RESULTS, prefix=streams.kafka.topic_prefix)
    return [RetrainResult.model_validate_json(message.value() or b"") for message in consume_all(streams, topic, 2.0)]


def _committed_offset(streams: StreamsSettings) -> int:
    """The worker group's committed offset on the requests topic; -1 while there is none (or no coordinator)."""
    consumer = Consumer({**streams.kafka.client_config(), "group.id": WorkerOptions().group_id})
    try:
        topic = topic_name(Topic.RETRAIN_REQUESTS, prefix=streams.kafka.topic_prefix)
        [partition] = consumer.committed([TopicPartition(topic, 0)], timeout=10)
        return int(partition.offset)
    except KafkaException:
        return -1  # the group's coordinator is not elected yet
    finally:
        consumer.close()


def _wait(condition: Callable[[], bool], process: ManagedProcess, what: str,
          timeout_s: float = RESULT_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert process.is_running(), f"the worker died while waiting for {what}:\n{tail(process.log_file, 40)}"
        assert time.monotonic() < deadline, f"no {what} in {timeout_s} s:\n{tail(process.log_file, 40)}"
        time.sleep(1.0)


def test_request_to_promotion_model_update_and_serving_switch(
    streams_settings: StreamsSettings, tracking: TrackingSettings, data: dict[str, Path], tmp_path: Path,
    processes: Callable[..., ManagedProcess],
) -> None:
    registry = RegistrySettings(tracking_uri=tracking.tracking_uri, registered_model=MODEL)
    holder = ModelHolder(ServingModelSettings(reference="production", registry=registry,
                                              download_dir=tmp_path / "serving"), streams_settings.kafka, "test")
    assert holder.current.version == f"{MODEL}/1"
    holder.follow()
    env = _worker_env(streams_settings, tracking, tmp_path / "work", data["base"], data["labelled"],
                      data["features"])
    worker = processes("retrain", ["retrain", "run"], env)
    request = _request("promote-1")
    _publish(streams_settings, request, request)  # the second is a duplicate: skipped, never run twice

    _wait(lambda: _committed_offset(streams_settings) == 2, worker, "committed offset after both requests")
    [result] = _results(streams_settings)
    print(result.model_dump_json(indent=1))
    assert (result.request_id, result.outcome, result.attempt) == ("promote-1", "promoted", 1), result.reasons
    assert (result.candidate_version, result.production_version) == ("2", "1")
    assert result.new_data is not None and result.base_test is not None and result.data is not None
    assert result.new_data.examples == 27 and result.base_test.examples == 9
    assert result.new_data.gain >= 0.02 and result.new_data.p_value <= 0.05
    assert result.data.held_out_labelled == 27 and result.data.train_videos == 27 + 9
    assert result.timings.training_s > 0

    assert alias_version(tracking, "production") == "2"
    tags = version_tags(tracking, "2")
    assert (tags[REQUEST_TAG], tags[PARENT_TAG]) == ("promote-1", "1")
    updates = consume_all(streams_settings, topic_name(Topic.MODEL_UPDATES, prefix=streams_settings.kafka.topic_prefix),
                          2.0)
    assert [ModelUpdate.model_validate_json(message.value() or b"").version for message in updates] == ["2"]
    deadline = time.monotonic() + 60
    while not holder.swap_if_ready():
        assert time.monotonic() < deadline, "serving did not switch to the promoted version"
        time.sleep(0.5)
    assert holder.current.version == f"{MODEL}/2"
    holder.close()


def test_worker_killed_mid_training_finishes_once_and_a_shuffled_candidate_is_refused(
    streams_settings: StreamsSettings, tracking: TrackingSettings, data: dict[str, Path], tmp_path: Path,
    processes: Callable[..., ManagedProcess],
) -> None:
    work_dir = tmp_path / "work"
    env = _worker_env(streams_settings, tracking, work_dir, data["shuffled_base"], data["shuffled_labelled"],
                      data["features"])
    first = processes("retrain-1", ["retrain", "run"], env)
    request = _request("shuffled-1")
    _publish(streams_settings, request)
    _wait(lambda: (work_dir / request.request_id / "run" / "config.yaml").exists(), first, "training start")
    first.kill()  # mid-training: nothing registered for the request, its offset uncommitted
    assert find_versions(tracking, {REQUEST_TAG: request.request_id}) == []
    assert _results(streams_settings) == []

    second = processes("retrain-2", ["retrain", "run"], env)
    _wait(lambda: _committed_offset(streams_settings) == 1, second, "the request's result")
    _publish(streams_settings, request)  # replayed after it finished: skipped
    _wait(lambda: _committed_offset(streams_settings) == 2, second, "the replayed request's offset")
    [result] = _results(streams_settings)
    print(result.model_dump_json(indent=1))
    assert (result.request_id, result.outcome, result.attempt) == ("shuffled-1", "refused", 2)
    # Against an untrained production model, a chance-level candidate fails the margin or the significance.
    assert any(reason.startswith("gain on new data") for reason in result.reasons), result.reasons
    assert result.new_data is not None and result.new_data.candidate_accuracy < 0.6
    assert find_versions(tracking, {REQUEST_TAG: request.request_id}) == [result.candidate_version]
    assert alias_version(tracking, "production") == "1"  # a refused candidate is registered, never served
    assert alias_version(tracking, "candidate") == result.candidate_version
    updates = consume_all(streams_settings, topic_name(Topic.MODEL_UPDATES, prefix=streams_settings.kafka.topic_prefix),
                          2.0)
    assert updates == []
