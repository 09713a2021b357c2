"""The demo's loop watcher on the real broker: the loop's steps print in the order they were produced, whichever
of its readers fetched them first, a step produced moments ago waits until the final poll flushes it, and a retrain
request waits for the drift reports that caused it even when their reader is later than the print hold."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from actionstream.demo_loop import LoopSettings, LoopWatcher
from streams.schemas import DriftReport, RetrainRequest
from streams.settings import KafkaSettings, StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE

pytestmark = pytest.mark.integration


def _report(report_id: str, produced: float) -> DriftReport:
    return DriftReport(
        report_id=report_id, site=SITE, camera="cam0", reference="baseline", reference_kind="camera",
        window_start=produced - 60, window_end=produced, frames=160, outcomes=10, scores=[],
        drifted_columns=["brightness"], share_drifted=0.33, embedding_mmd2=0.2, embedding_p_value=0.001,
        estimated_accuracy=0.4, reference_accuracy=0.9, observed_accuracy=None, observed_macro_f1=None, labels=0,
        causes=["data_drift"], verdict="drift", model_version="1", alert_causes=["data_drift"])


def _request(request_id: str, report_id: str, produced: float) -> RetrainRequest:
    return RetrainRequest(request_id=request_id, site=SITE, cause="data_drift", reason="persisting data drift",
                          evidence=[], report_ids=[report_id], cameras=["cam0"], data_start=produced - 60,
                          data_end=produced, model_version="1")


def _produce(producer: Producer, kafka: KafkaSettings, topic: Topic, event: DriftReport | RetrainRequest,
             produced: float | None = None) -> None:
    timestamp = {} if produced is None else {"timestamp": int(produced * 1000)}
    producer.produce(topic_name(topic, prefix=kafka.topic_prefix), key=event.key(),
                     value=event.model_dump_json(by_alias=True).encode(), **timestamp)
    assert producer.flush(30) == 0


def _poll_until(watcher: LoopWatcher, done: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        watcher.poll()
        time.sleep(0.1)


def test_a_request_fetched_before_its_drift_report_prints_after_it(streams_settings: StreamsSettings) -> None:
    kafka = streams_settings.kafka
    since = time.time() - 60
    produced = since + 10  # epoch seconds: the report, then its request half a second later
    request = _request("q1", "r1", produced)
    producer = Producer(kafka.client_config())
    # The request reaches the broker first, as when the drift job's report waited in another partition's batch.
    _produce(producer, kafka, Topic.RETRAIN_REQUESTS, request, produced + 0.5)
    _produce(producer, kafka, Topic.DRIFT_REPORTS, _report("r1", produced), produced)
    # A later step, produced "now": held by the print hold until the final poll flushes it.
    _produce(producer, kafka, Topic.RETRAIN_REQUESTS, request.model_copy(update={"request_id": "q2"}))

    lines: list[str] = []
    with LoopWatcher(kafka, since, lines.append, LoopSettings(print_hold_s=30.0)) as watcher:
        _poll_until(watcher, lambda: len(lines) >= 2, 30)
        assert [line.split()[0] for line in lines] == ["DRIFT", "RETRAIN"], lines
        assert "q1" in lines[1]
        watcher.poll(flush=True)
    assert len(lines) == 3 and lines[2].startswith("RETRAIN REQUEST q2"), lines


def test_a_request_produced_in_the_same_millisecond_as_its_report_prints_after_it(
        streams_settings: StreamsSettings) -> None:
    kafka = streams_settings.kafka
    since = time.time() - 60
    produced = since + 10
    producer = Producer(kafka.client_config())
    # As the drift job produces them: the same timestamp; the request reaches the broker first.
    _produce(producer, kafka, Topic.RETRAIN_REQUESTS, _request("q5", "r5", produced), produced)
    _produce(producer, kafka, Topic.DRIFT_REPORTS, _report("r5", produced), produced)

    lines: list[str] = []
    with LoopWatcher(kafka, since, lines.append, LoopSettings(print_hold_s=0.0, cause_wait_s=30.0)) as watcher:
        _poll_until(watcher, lambda: len(lines) >= 2, 10)  # the cause wait would hold q5 for 30 s
    assert [line.split()[0] for line in lines] == ["DRIFT", "RETRAIN"] and "q5" in lines[1], lines


def test_a_request_waits_for_its_drift_report_longer_than_the_print_hold(streams_settings: StreamsSettings) -> None:
    kafka = streams_settings.kafka
    since = time.time() - 60
    produced = since + 10
    producer = Producer(kafka.client_config())
    _produce(producer, kafka, Topic.RETRAIN_REQUESTS, _request("q3", "r3", produced + 0.5), produced + 0.5)
    # Its report id names no report yet; a second request names one that never comes.
    _produce(producer, kafka, Topic.RETRAIN_REQUESTS, _request("q4", "r-never", produced + 1), produced + 1)

    lines: list[str] = []
    with LoopWatcher(kafka, since, lines.append, LoopSettings(print_hold_s=0.0, cause_wait_s=8.0)) as watcher:
        _poll_until(watcher, lambda: bool(lines), 3)
        assert lines == []  # the print hold alone would have printed q3 at once
        _produce(producer, kafka, Topic.DRIFT_REPORTS, _report("r3", produced), produced)
        _poll_until(watcher, lambda: len(lines) >= 2, 5)
        assert [line.split()[0] for line in lines] == ["DRIFT", "RETRAIN"], lines
        assert "q3" in lines[1]
        # q4 holds no later step for ever: it prints once the cause wait has passed.
        _poll_until(watcher, lambda: len(lines) >= 3, 15)
    assert len(lines) == 3 and "q4" in lines[2], lines
