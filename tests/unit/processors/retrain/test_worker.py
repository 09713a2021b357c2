"""The retrain worker's Kafka plumbing with fake clients: results commit with the request's offset in one
transaction, a finished request is skipped (also when read back from retrain-results at start), a request
begun too often ends as failed, an abortable commit error retries the transaction whole."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition
from prometheus_client import REGISTRY

from processors.retrain.job import JobOutcome
from processors.retrain.settings import RetrainOptions, RetrainSettings, WorkerOptions
from processors.retrain.worker import AttemptLog, RetrainWorker
from streams.deadletter import reason_of
from streams.schemas import ModelUpdate, RetrainRequest, RetrainResult, RetrainTimings
from streams.settings import KafkaSettings

REQUESTS = "p.retrain-requests"


class _Producer:
    """Records the transactional calls; raises the queued errors of each step once."""

    def __init__(self, failures: dict[str, list[KafkaError]] | None = None) -> None:
        self.failures = failures or {}
        self.calls: list[str] = []
        self.produced: list[tuple[str, bytes, bytes | None, Any]] = []
        self.committed: list[tuple[str, bytes, bytes | None, Any]] = []  # records of committed transactions
        self.offsets: list[list[TopicPartition]] = []
        self._open: list[tuple[str, bytes, bytes | None, Any]] = []

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if self.failures.get(name):
            raise KafkaException(self.failures[name].pop(0))

    def init_transactions(self, timeout: float) -> None:
        self._step("init")

    def begin_transaction(self) -> None:
        self._step("begin")
        self._open = []

    def produce(self, topic: str, value: bytes, key: bytes | None, headers: Any = None) -> None:
        self._open.append((topic, value, key, headers))
        self.produced.append((topic, value, key, headers))

    def send_offsets_to_transaction(self, offsets: list[TopicPartition], group: Any, timeout: float) -> None:
        self._step("send_offsets")
        self.offsets.append(offsets)

    def commit_transaction(self, timeout: float) -> None:
        self._step("commit")
        self.committed += self._open

    def abort_transaction(self, timeout: float) -> None:
        self._step("abort")


class _Consumer:
    def __init__(self, messages: list[Message], stop: threading.Event) -> None:
        self.messages = list(messages)
        self.stop = stop
        self.subscribed: list[str] = []

    def subscribe(self, topics: list[str], on_assign: Callable[[Any, list[Any]], None]) -> None:
        self.subscribed = topics
        on_assign(self, [])  # as the group would, once it assigned the partitions

    def poll(self, timeout: float) -> Message | None:
        if not self.messages:
            self.stop.set()
            return None
        return self.messages.pop(0)

    def consumer_group_metadata(self) -> object:
        return object()

    def close(self) -> None:
        pass


class _Job:
    def __init__(self, promote: bool = False) -> None:
        self.promote = promote
        self.calls: list[tuple[str, int]] = []
        self.gave_up: list[tuple[str, int]] = []

    def _result(self, request: RetrainRequest, attempt: int, outcome: str) -> RetrainResult:
        return RetrainResult(request_id=request.request_id, site=request.site, outcome=outcome, reasons=["why"],
                             new_data=None, base_test=None, candidate_version="2", production_version="1", data=None,
                             timings=RetrainTimings(data_s=0, training_s=0, evaluation_s=0, total_s=0),
                             attempt=attempt)

    def __call__(self, request: RetrainRequest, attempt: int) -> JobOutcome:
        self.calls.append((request.request_id, attempt))
        if self.promote:
            return JobOutcome(self._result(request, attempt, "promoted"),
                              ModelUpdate(model="m", alias="production", version="2"))
        return JobOutcome(self._result(request, attempt, "refused"), None)

    def give_up(self, request: RetrainRequest, attempt: int) -> JobOutcome:
        self.gave_up.append((request.request_id, attempt))
        return JobOutcome(self._result(request, attempt, "failed"), None)


def _request(request_id: str) -> RetrainRequest:
    return RetrainRequest(request_id=request_id, site="s", cause="data_drift", reason="drift", evidence=[],
                          report_ids=["r"], cameras=["cam1"], data_start=0.0, data_end=60.0, model_version="1",
                          requested_at=61.0)


def _message(offset: int, value: bytes) -> Message:
    return Message(topic=REQUESTS, partition=0, offset=offset, value=value, key=b"s/data_drift")


@pytest.fixture
def settings(tmp_path: Path) -> RetrainSettings:
    return RetrainSettings(kafka=KafkaSettings(topic_prefix="p."), retrain=RetrainOptions(work_dir=tmp_path),
                           worker=WorkerOptions(retry_backoff_s=0.0))


def _run(settings: RetrainSettings, job: _Job, messages: list[Message], producer: _Producer,
         finished: set[str] | None = None) -> RetrainWorker:
    stop = threading.Event()
    worker = RetrainWorker(settings, job, consumer_factory=lambda _config: _Consumer(messages, stop),  # type: ignore[arg-type,return-value]
                           producer_factory=lambda _config: producer,  # type: ignore[arg-type,return-value]
                           results_reader=lambda _kafka, _timeout: set(finished or ()))
    worker.run(stop)
    return worker


def test_a_promotion_commits_result_model_update_and_offset_together(settings: RetrainSettings) -> None:
    producer, job = _Producer(), _Job(promote=True)
    _run(settings, job, [_message(4, _request("r1").to_json_bytes())], producer)

    assert producer.calls == ["init", "begin", "send_offsets", "commit"]
    assert [(topic, key) for topic, _, key, _ in producer.committed] == [
        ("p.retrain-results", b"r1"), ("p.model-updates", b"m@production")]
    assert RetrainResult.model_validate_json(producer.committed[0][1]).outcome == "promoted"
    assert producer.offsets == [[TopicPartition(REQUESTS, 0, 5)]]
    assert job.calls == [("r1", 1)]


def test_a_refusal_never_writes_model_updates(settings: RetrainSettings) -> None:
    producer = _Producer()
    refused = REGISTRY.get_sample_value("actionstream_retrain_results_total", {"outcome": "refused"}) or 0.0
    _run(settings, _Job(), [_message(0, _request("r1").to_json_bytes())], producer)
    assert [topic for topic, *_ in producer.committed] == ["p.retrain-results"]
    # the RetrainRefused alert counts on this
    assert REGISTRY.get_sample_value("actionstream_retrain_results_total", {"outcome": "refused"}) == refused + 1


def test_finished_requests_are_skipped_and_their_offsets_committed(settings: RetrainSettings) -> None:
    producer, job = _Producer(), _Job()
    messages = [_message(0, _request("done-before").to_json_bytes()), _message(1, _request("r2").to_json_bytes()),
                _message(2, _request("r2").to_json_bytes())]  # a duplicate of r2
    worker = _run(settings, job, messages, producer, finished={"done-before"})

    assert job.calls == [("r2", 1)]
    assert [RetrainResult.model_validate_json(value).request_id for _, value, *_ in producer.committed] == ["r2"]
    assert [offsets[0].offset for offsets in producer.offsets] == [1, 2, 3]
    assert worker.finished == {"done-before", "r2"}


def test_a_request_begun_too_often_ends_failed_without_running(settings: RetrainSettings) -> None:
    attempts = AttemptLog(settings.retrain.work_dir)
    for _ in range(settings.retrain.max_attempts):
        attempts.begin("r1")  # earlier workers died on it
    producer, job = _Producer(), _Job()
    _run(settings, job, [_message(0, _request("r1").to_json_bytes())], producer)

    assert job.calls == []
    assert job.gave_up == [("r1", settings.retrain.max_attempts + 1)]
    assert RetrainResult.model_validate_json(producer.committed[0][1]).outcome == "failed"


def test_a_restarted_request_counts_its_attempt(settings: RetrainSettings) -> None:
    AttemptLog(settings.retrain.work_dir).begin("r1")  # a worker was killed mid-request
    job = _Job()
    _run(settings, job, [_message(0, _request("r1").to_json_bytes())], _Producer())
    assert job.calls == [("r1", 2)]


def test_an_invalid_request_goes_to_the_dead_letter_topic(settings: RetrainSettings) -> None:
    producer, job = _Producer(), _Job()
    _run(settings, job, [_message(7, b"{not json")], producer)

    assert job.calls == []
    [(topic, value, _, headers)] = producer.committed
    assert (topic, value) == ("p.deadletter", b"{not json")
    assert reason_of(headers)["stage"] == "retrain"
    assert producer.offsets == [[TopicPartition(REQUESTS, 0, 8)]]


def test_an_abortable_commit_error_retries_the_whole_transaction(settings: RetrainSettings) -> None:
    abortable = KafkaError(KafkaError._STATE, "abortable", txn_requires_abort=True)
    retriable = KafkaError(KafkaError._TIMED_OUT, "timed out", retriable=True)
    producer, job = _Producer({"commit": [abortable, retriable]}), _Job()
    _run(settings, job, [_message(0, _request("r1").to_json_bytes())], producer)

    assert producer.calls == ["init", "begin", "send_offsets", "commit", "abort", "begin", "send_offsets",
                              "commit", "commit"]
    assert [RetrainResult.model_validate_json(value).request_id for _, value, *_ in producer.committed] == ["r1"]
    assert job.calls == [("r1", 1)]  # the job is not run again for a retried commit


def test_a_fatal_error_stops_the_worker_with_the_offset_uncommitted(settings: RetrainSettings) -> None:
    fenced = KafkaError(KafkaError._FENCED, "fenced", fatal=True)
    producer = _Producer({"commit": [fenced]})
    with pytest.raises(KafkaException):
        _run(settings, _Job(), [_message(0, _request("r1").to_json_bytes())], producer)
    assert producer.committed == []
