"""Kafka plumbing of the retrain worker: one request at a time, each finished exactly once.

- Idempotent by request id: at start the worker reads `retrain-results` back (read_committed) and skips any
  request that already has a result (a duplicate request, or one replayed after a restart).
- The result (and, on a promotion, the model-update record) is produced in one Kafka transaction with the
  request's consumer offset, so either both the result and "request done" are committed or neither is.
- Killed mid-request, the offset is uncommitted and the next worker consumes the request again. It resumes
  from the candidate's MLflow tags (lineage.py) when one was registered, else trains again; the attempt is
  counted on disk, and past `max_attempts` the request ends as failed rather than killing workers forever.
A newer instance with the same transactional id fences an older one, so a stalled worker cannot commit a
second result for a request that was handed on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast, get_args

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from pydantic import ValidationError

from processors import metrics
from processors.retrain.job import JobOutcome
from processors.retrain.settings import RetrainSettings
from streams.deadletter import DeadLetter
from streams.health import HEALTH
from streams.reader import read_to_end
from streams.schemas import RawHeaders, RetrainOutcome, RetrainRequest, RetrainResult
from streams.settings import KafkaSettings
from streams.topics import Topic, topic_name

logger = logging.getLogger(__name__)

T = TypeVar("T")
STAGE = "retrain"
_ATTEMPTS_FILE = "attempts"
# topic, value, key, headers of a record produced in a request's transaction
_Record = tuple[str, bytes, bytes | None, list[tuple[str, str | bytes | None]] | None]


class Job(Protocol):
    def __call__(self, request: RetrainRequest, attempt: int) -> JobOutcome: ...

    def give_up(self, request: RetrainRequest, attempt: int) -> JobOutcome: ...


class AttemptLog:
    """Starts of each request, on disk, so that a restarted worker knows how often a request was begun."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir

    def begin(self, request_id: str) -> int:
        path = self.work_dir / request_id / _ATTEMPTS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        attempt = (int(path.read_text()) if path.exists() else 0) + 1
        path.write_text(str(attempt))
        return attempt


def read_finished_requests(kafka: KafkaSettings, timeout_s: float) -> set[str]:
    """Request ids with a committed result on retrain-results, read from the start to the end."""
    topic = topic_name(Topic.RETRAIN_RESULTS, prefix=kafka.topic_prefix)
    finished: set[str] = set()
    for message in read_to_end(kafka, topic, timeout_s):
        try:
            finished.add(RetrainResult.model_validate_json(message.value() or b"").request_id)
        except ValidationError as invalid:
            logger.warning("%s offset %d: not a retrain result (%s)", topic, message.offset(), invalid.errors()[:1])
    logger.info("%d retrain requests already finished per %s", len(finished), topic)
    return finished


class RetrainWorker:
    def __init__(self, settings: RetrainSettings, job: Job,
                 consumer_factory: Callable[[dict[str, Any]], Consumer] = Consumer,
                 producer_factory: Callable[[dict[str, Any]], Producer] = Producer,
                 results_reader: Callable[[KafkaSettings, float], set[str]] = read_finished_requests) -> None:
        self.settings = settings
        self.job = job
        self.attempts = AttemptLog(settings.retrain.work_dir)
        self.finished: set[str] = set()
        self._consumer_factory = consumer_factory
        self._producer_factory = producer_factory
        self._results_reader = results_reader
        prefix = settings.kafka.topic_prefix
        self.requests_topic = topic_name(Topic.RETRAIN_REQUESTS, prefix=prefix)
        self.results_topic = topic_name(Topic.RETRAIN_RESULTS, prefix=prefix)
        self.updates_topic = topic_name(Topic.MODEL_UPDATES, prefix=prefix)
        self.deadletter_topic = topic_name(Topic.DEADLETTER, prefix=prefix)
        # Exported at 0 from the start, so the alerts see a first refusal or failure as an increase.
        for outcome in get_args(RetrainOutcome):
            metrics.RETRAIN_RESULTS.labels(outcome=outcome)

    @property
    def _timeout_s(self) -> float:
        return self.settings.worker.transaction_timeout_ms / 1000

    def run(self, stop: threading.Event) -> None:
        """Handle requests until `stop` is set (checked between requests)."""
        producer = self._producer_factory(self._producer_config())
        # Fences an earlier instance and aborts its open transaction before the results are read back, so
        # the read is not held up at that transaction's first record.
        self._retrying(lambda: producer.init_transactions(self._timeout_s))
        self.finished |= self._results_reader(self.settings.kafka, self.settings.worker.read_timeout_s)
        consumer = self._consumer_factory(self._consumer_config())
        consumer.subscribe([self.requests_topic], on_assign=HEALTH.on_assign)
        logger.info("retrain worker consuming %s", self.requests_topic)
        try:
            while not stop.is_set():
                message = consumer.poll(self.settings.worker.poll_s)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        logger.warning("%s: %s", self.requests_topic, error)
                    continue
                self.handle(consumer, producer, message)
        finally:
            consumer.close()

    def handle(self, consumer: Consumer, producer: Producer, message: Message) -> RetrainResult | None:
        """One request record: skipped, dead-lettered, or run to its result; the offset commits with what it
        produced. Returns the result published, if any."""
        records: list[_Record] = []
        result: RetrainResult | None = None
        try:
            request = RetrainRequest.model_validate_json(message.value() or b"")
        except ValidationError as error:
            topic, partition, offset = _located(message)
            # A consumed record's headers are a list of (name, bytes) pairs, or None.
            headers = cast("RawHeaders | None", message.headers())
            dead = DeadLetter.of(stage=STAGE, reason=f"invalid retrain request: {error.errors()[:3]}", topic=topic,
                                 partition=partition, offset=offset, value=message.value(), key=message.key(),
                                 headers=headers)
            records.append((self.deadletter_topic, dead.value or b"", dead.key, list(dead.headers)))
            request = None
        if request is not None and request.request_id in self.finished:
            logger.info("retrain request %s already finished: skipped", request.request_id)
        elif request is not None:
            attempt = self.attempts.begin(request.request_id)
            if attempt > self.settings.retrain.max_attempts:
                outcome = self.job.give_up(request, attempt)
            else:
                outcome = self.job(request, attempt)
            result = outcome.result
            records.append((self.results_topic, result.to_json_bytes(), result.key(), None))
            if outcome.model_update is not None:
                update = outcome.model_update
                records.append((self.updates_topic, update.to_json_bytes(), update.key(), None))
        self._commit(consumer, producer, message, records)
        if request is not None:
            self.finished.add(request.request_id)
        if result is not None:
            metrics.RETRAIN_RESULTS.labels(outcome=result.outcome).inc()
            logger.info("retrain request %s: %s (candidate %s, production %s)", result.request_id, result.outcome,
                        result.candidate_version, result.production_version)
        return result

    def _commit(self, consumer: Consumer, producer: Producer, message: Message, records: list[_Record]) -> None:
        """The records and the request's next offset in one transaction; an abortable error retries it whole."""
        topic, partition, offset = _located(message)
        offsets = [TopicPartition(topic, partition, offset + 1)]
        while True:
            producer.begin_transaction()
            try:
                for record_topic, value, key, headers in records:
                    producer.produce(record_topic, value=value, key=key, headers=headers)
                self._retrying(lambda: producer.send_offsets_to_transaction(
                    offsets, consumer.consumer_group_metadata(), self._timeout_s))
                self._retrying(lambda: producer.commit_transaction(self._timeout_s))
                return
            except KafkaException as exc:
                if not exc.args[0].txn_requires_abort():
                    raise  # fatal (e.g. fenced by a newer instance): the request is left to it
                logger.warning("retrain transaction aborted, retried: %s", exc.args[0])
                self._retrying(lambda: producer.abort_transaction(self._timeout_s))

    def _retrying(self, call: Callable[[], T]) -> T:
        """`call` again while Kafka calls the error retriable (broker away, coordinator moving)."""
        while True:
            try:
                return call()
            except KafkaException as exc:
                if exc.args[0].fatal() or not exc.args[0].retriable():
                    raise
                logger.warning("retrain transaction step retried: %s", exc.args[0])
                time.sleep(self.settings.worker.retry_backoff_s)

    def _consumer_config(self) -> dict[str, Any]:
        worker = self.settings.worker
        return {**self.settings.kafka.client_config(), "group.id": worker.group_id,
                "enable.auto.commit": False,  # the offset commits inside the result's transaction
                "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                "max.poll.interval.ms": worker.max_poll_interval_ms}

    def _producer_config(self) -> dict[str, Any]:
        worker = self.settings.worker
        return {**self.settings.kafka.client_config(),
                "transactional.id": f"{self.settings.kafka.topic_prefix}{worker.transactional_id}",
                "transaction.timeout.ms": worker.transaction_timeout_ms,
                "message.timeout.ms": worker.transaction_timeout_ms}


def _located(message: Message) -> tuple[str, int, int]:
    """Topic, partition and offset of a consumed record (always set on one)."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError("a consumed record without topic, partition or offset")
    return topic, partition, offset
