"""The demo's loop watcher on the real broker: the loop's steps print in the order they were produced, whichever
of its readers fetched them first, and a step produced moments ago waits until the final poll flushes it."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Producer

from actionstream.demo_loop import LoopSettings, LoopWatcher
from streams.schemas import DriftReport, RetrainRequest
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE

pytestmark = pytest.mark.integration


def test_a_request_fetched_before_its_drift_report_prints_after_it(streams_settings: StreamsSettings) -> None:
    kafka = streams_settings.kafka
    since = time.time() - 60
    produced = since + 10  # epoch seconds: the report, then its request half a second later
    report = DriftReport(
        report_id="r1", site=SITE, camera="cam0", reference="baseline", reference_kind="camera",
        window_start=produced - 60, window_end=produced, frames=160, outcomes=10, scores=[],
        drifted_columns=["brightness"], share_drifted=0.33, embedding_mmd2=0.2, embedding_p_value=0.001,
        estimated_accuracy=0.4, reference_accuracy=0.9, observed_accuracy=None, observed_macro_f1=None, labels=0,
        causes=["data_drift"], verdict="drift", model_version="1", alert_causes=["data_drift"])
    request = RetrainRequest(request_id="q1", site=SITE, cause="data_drift", reason="persisting data drift",
                             evidence=[], report_ids=["r1"], cameras=["cam0"], data_start=produced - 60,
                             data_end=produced, model_version="1")
    producer = Producer(kafka.client_config())
    # The request reaches the broker first, as when the drift job's report waited in another partition's batch.
    producer.produce(topic_name(Topic.RETRAIN_REQUESTS, prefix=kafka.topic_prefix), key=request.key(),
                     value=request.model_dump_json(by_alias=True).encode(), timestamp=int((produced + 0.5) * 1000))
    assert producer.flush(30) == 0
    producer.produce(topic_name(Topic.DRIFT_REPORTS, prefix=kafka.topic_prefix), key=b"cam0",
                     value=report.model_dump_json(by_alias=True).encode(), timestamp=int(produced * 1000))
    # A later step, produced "now": held by the print hold until the final poll flushes it.
    recent = request.model_copy(update={"request_id": "q2", "requested_at": time.time()})
    producer.produce(topic_name(Topic.RETRAIN_REQUESTS, prefix=kafka.topic_prefix), key=recent.key(),
                     value=recent.model_dump_json(by_alias=True).encode())
    assert producer.flush(30) == 0

    lines: list[str] = []
    with LoopWatcher(kafka, since, lines.append, LoopSettings(print_hold_s=30.0)) as watcher:
        deadline = time.monotonic() + 30
        while len(lines) < 2 and time.monotonic() < deadline:
            watcher.poll()
            time.sleep(0.1)
        assert [line.split()[0] for line in lines] == ["DRIFT", "RETRAIN"], lines
        assert "q1" in lines[1]
        watcher.poll(flush=True)
    assert len(lines) == 3 and lines[2].startswith("RETRAIN REQUEST q2"), lines
