"""The classifier consumer: clips in, one action event per clip out, exactly once.

Consume-transform-produce in Kafka transactions (confluent-kafka, not Faust): each batch's events, its dead
letters and the consumer offsets it covers commit together or not at all, and readers use read_committed,
so a crash or a broker restart never loses or doubles an event. Batches fill dynamically across cameras up
to `max_batch` clips or `max_wait_s`. Duplicate clip ids are dropped; records that are not valid clips go
to the dead-letter topic. The model switches version only between batches.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from processors import metrics
from processors.classification import STAGE, Classified, ClipClassifier, RecentIds, Rejected, observe
from processors.serving import ModelHolder
from processors.settings import ProcessorSettings
from streams.deadletter import DeadLetter
from streams.records import Clip
from streams.schemas import InvalidMessage
from streams.topics import Topic, topic_name

logger = logging.getLogger(__name__)

T = TypeVar("T")


class _AbortBatch(Exception):
    """The transaction must be aborted and the batch consumed again."""


class _ProducerStuck(Exception):
    """A transaction step kept timing out: the producer's coordinator state is stale (seen after a broker
    restart), so the producer is replaced and the batch consumed again."""


class _Stopped(Exception):
    """Stop was asked for while a transaction step waited for the broker: the open transaction is left to
    the coordinator, which aborts it (timeout, or the next instance with our transactional id)."""


@dataclass
class _SortedBatch:
    events: list[Classified] = field(default_factory=list)
    rejected: list[tuple[Message, str]] = field(default_factory=list)  # record, reason
    duplicates: int = 0


@dataclass
class ClassifierStats:
    events: int = 0
    deadletters: int = 0
    duplicates: int = 0
    aborted_batches: int = 0


class ClassifierConsumer:
    def __init__(self, settings: ProcessorSettings, holder: ModelHolder | None = None) -> None:
        self.settings = settings
        self.holder = holder or ModelHolder(settings.model, settings.kafka, role=STAGE)
        self.classifier = ClipClassifier(settings.classifier, settings.shedding)
        self.recent = RecentIds(settings.classifier.dedupe_capacity)
        self.stats = ClassifierStats()
        self.ready = threading.Event()  # set once partitions are assigned
        prefix = settings.kafka.topic_prefix
        self.clips_topic = topic_name(Topic.CLIPS, prefix=prefix)
        self.deadletter_topic = topic_name(Topic.DEADLETTER, prefix=prefix)
        self._revocations = 0
        self._assignment: list[TopicPartition] = []

    def run(self, stop: threading.Event) -> None:
        """Classify until `stop` is set; a fatal Kafka error (e.g. fenced by a newer instance) is raised."""
        consumer = Consumer(self._consumer_config())
        producer = Producer(self._producer_config())
        timeout_s = self.settings.classifier.transaction_timeout_ms / 1000
        try:
            # Fences a previous instance with our transactional id and aborts whatever it left open.
            self._retrying(lambda: producer.init_transactions(timeout_s), stop)
            consumer.subscribe([self.clips_topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                               on_lost=self._on_revoke)
            self.holder.follow()
            next_lag_report = 0.0
            while not stop.is_set():
                batch = self._poll_batch(consumer, stop)
                if batch:
                    try:
                        self._process(consumer, producer, batch, stop)
                    except _ProducerStuck as stuck:
                        producer = self._replace_producer(consumer, batch, stop, str(stuck))
                self.holder.swap_if_ready()  # a batch boundary: never a batch half by one version
                if time.monotonic() >= next_lag_report:
                    self._report_lag(consumer)
                    next_lag_report = time.monotonic() + self.settings.classifier.lag_report_interval_s
        except _Stopped:
            logger.info("classifier stopped while waiting for the broker")
        finally:
            consumer.close()
            self.holder.close()
            logger.info("classifier stopped: %s", self.stats)

    # -- Kafka clients -----------------------------------------------------------------------------------
    def _consumer_config(self) -> dict[str, Any]:
        return {
            **self.settings.kafka.client_config(),
            "group.id": self.settings.classifier.group_id,
            "enable.auto.commit": False,  # offsets commit inside the transaction
            "isolation.level": "read_committed",  # never classify a clip from an aborted upstream transaction
            "auto.offset.reset": "earliest",
        }

    def _producer_config(self) -> dict[str, Any]:
        classifier = self.settings.classifier
        producer = self.settings.producer.client_config()
        return {
            **self.settings.kafka.client_config(),
            **producer,
            "transactional.id": f"{self.settings.kafka.topic_prefix}{classifier.transactional_id}",
            "transaction.timeout.ms": classifier.transaction_timeout_ms,
            # librdkafka refuses a message timeout longer than the transaction's.
            "message.timeout.ms": min(int(producer["message.timeout.ms"]), classifier.transaction_timeout_ms),
            # Re-bootstrapping after every broker went away decommissions the cached group coordinator, and
            # send_offsets_to_transaction then hangs past its timeout (librdkafka#5456, #5511; seen here on a
            # broker restart). Without it the broker handle reconnects in place.
            "metadata.recovery.strategy": "none",
        }

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assignment = list(partitions)
        logger.info("classifier assigned %d partitions of %s", len(partitions), self.clips_topic)
        if not self.ready.is_set():
            logger.info("classifier ready: model %s, group %s", self.holder.current.version,
                        self.settings.classifier.group_id)
            self.ready.set()

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._revocations += 1
        self._assignment = []
        logger.info("classifier lost %d partitions of %s", len(partitions), self.clips_topic)

    # -- batches -----------------------------------------------------------------------------------------
    def _poll_batch(self, consumer: Consumer, stop: threading.Event) -> list[Message]:
        """Up to max_batch records, waiting at most max_wait_s once the first arrived."""
        settings = self.settings.classifier
        batch: list[Message] = []
        deadline = None
        while len(batch) < settings.max_batch and not stop.is_set():
            wait = settings.idle_poll_s if deadline is None else deadline - time.monotonic()
            if wait <= 0:
                break
            revocations = self._revocations
            message = consumer.poll(wait)
            if self._revocations != revocations:
                # Rebalance callbacks run inside poll(), before the record it returns: records taken before
                # a revocation are dropped, as the partitions' owner (maybe us again) resumes from the
                # committed offsets.
                batch.clear()
            if message is None:
                continue
            if message.error() is not None:
                error: KafkaError = message.error()
                if error.fatal():
                    raise KafkaException(error)
                logger.warning("consuming %s: %s", self.clips_topic, error)
                continue
            batch.append(message)
            deadline = deadline or time.monotonic() + settings.max_wait_s
        return batch

    def _process(self, consumer: Consumer, producer: Producer, batch: list[Message], stop: threading.Event) -> None:
        started = time.perf_counter()
        settings = self.settings.classifier
        metrics.RECORDS_IN.labels(stage=STAGE).inc(len(batch))
        metrics.BATCH_SIZE.labels(stage=STAGE).observe(len(batch))
        metrics.BATCH_FILL.labels(stage=STAGE).observe(len(batch) / settings.max_batch)

        sorted_batch = self._sort(batch)
        try:
            self._transact(consumer, producer, batch, sorted_batch, stop)
        except _AbortBatch:
            self._abort(consumer, producer, batch, stop)
            return
        # Only now are these ids settled: an aborted batch's clips must be classified again, and a rejected
        # clip's id stays free for a valid re-emission.
        for classified in sorted_batch.events:
            self.recent.add(classified.event.event_id)
            observe(classified)
        for _, reason in sorted_batch.rejected:
            metrics.DEADLETTERS.labels(stage=STAGE, reason=reason.split(":")[0][:60]).inc()
        metrics.DUPLICATES.labels(stage=STAGE).inc(sorted_batch.duplicates)
        metrics.BATCH_SECONDS.labels(stage=STAGE).observe(time.perf_counter() - started)
        self.stats.events += len(sorted_batch.events)
        self.stats.deadletters += len(sorted_batch.rejected)
        self.stats.duplicates += sorted_batch.duplicates

    def _sort(self, batch: list[Message]) -> _SortedBatch:
        """Events for new valid clips, dead letters for invalid records, duplicates counted and dropped."""
        result = _SortedBatch()
        clips: list[tuple[Message, Clip]] = []
        for message in batch:
            try:
                clip = Clip.from_bytes(message.value())
            except InvalidMessage as error:
                result.rejected.append((message, str(error)))
                continue
            if clip.clip_id in self.recent:
                result.duplicates += 1
            else:
                clips.append((message, clip))
        outcomes = self.classifier.classify([clip for _, clip in clips], self.holder.current)
        batch_ids: set[str] = set()
        for (message, clip), outcome in zip(clips, outcomes, strict=True):
            if isinstance(outcome, Rejected):
                result.rejected.append((message, outcome.reason))
            elif clip.clip_id in batch_ids:  # the first valid record of a clip wins, within a batch too
                result.duplicates += 1
            else:
                batch_ids.add(clip.clip_id)
                result.events.append(outcome)
        return result

    def _transact(self, consumer: Consumer, producer: Producer, batch: list[Message], sorted_batch: _SortedBatch,
                  stop: threading.Event) -> None:
        timeout_s = self.settings.classifier.transaction_timeout_ms / 1000
        producer.begin_transaction()
        for classified in sorted_batch.events:
            event = classified.event
            topic = topic_name(Topic.ACTIONS, event.site, self.settings.kafka.topic_prefix)
            producer.produce(topic, value=event.to_json_bytes(), key=event.key())
        for message, reason in sorted_batch.rejected:
            letter = DeadLetter.of(stage=STAGE, reason=reason, topic=message.topic(), partition=message.partition(),
                                   offset=message.offset(), value=message.value(), key=message.key(),
                                   headers=message.headers())
            producer.produce(self.deadletter_topic, value=letter.value, key=letter.key, headers=letter.headers)
        offsets = _next_offsets(batch)
        group = consumer.consumer_group_metadata()
        attempts = self.settings.classifier.stuck_after_timeouts
        self._retrying(lambda: producer.send_offsets_to_transaction(offsets, group, timeout_s), stop, attempts)
        self._retrying(lambda: producer.commit_transaction(timeout_s), stop, attempts)

    def _abort(self, consumer: Consumer, producer: Producer, batch: list[Message], stop: threading.Event) -> None:
        """Abort the open transaction and rewind to the batch's first records, which the last committed
        transaction left as the next to consume."""
        self.stats.aborted_batches += 1
        timeout_s = self.settings.classifier.transaction_timeout_ms / 1000
        self._retrying(lambda: producer.abort_transaction(timeout_s), stop)
        self._rewind(consumer, batch)
        logger.warning("classifier batch of %d clips aborted; consuming it again", len(batch))

    def _replace_producer(self, consumer: Consumer, batch: list[Message], stop: threading.Event,
                          reason: str) -> Producer:
        """A fresh producer with the same transactional id: its init fences the stuck one, whose open
        transaction the coordinator aborts; the batch is consumed again."""
        logger.warning("classifier producer replaced (%s); consuming the batch of %d clips again", reason, len(batch))
        self.stats.aborted_batches += 1
        producer = Producer(self._producer_config())
        timeout_s = self.settings.classifier.transaction_timeout_ms / 1000
        self._retrying(lambda: producer.init_transactions(timeout_s), stop)
        self._rewind(consumer, batch)
        return producer

    def _rewind(self, consumer: Consumer, batch: list[Message]) -> None:
        assigned = {(tp.topic, tp.partition) for tp in self._assignment}
        for partition in _first_offsets(batch):
            if (partition.topic, partition.partition) not in assigned:
                continue  # no longer ours: the new owner starts from the committed offset
            try:
                consumer.seek(partition)
            except KafkaException as error:
                logger.warning("rewinding %s[%d] to %d: %s", partition.topic, partition.partition, partition.offset,
                               error)

    def _retrying(self, call: Callable[[], T], stop: threading.Event, timeouts_allowed: int = 0) -> T:
        """`call` repeated while Kafka says the error is retriable (broker away, coordinator moving); an
        abortable error raises _AbortBatch, a fatal one propagates. With `timeouts_allowed`, that many
        timeouts in a row raise _ProducerStuck instead of another retry."""
        timeouts = 0
        while True:
            try:
                return call()
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                if error.fatal():
                    raise
                if error.retriable():
                    if stop.is_set():
                        raise _Stopped() from exc
                    timeouts += error.code() == KafkaError._TIMED_OUT
                    if timeouts_allowed and timeouts >= timeouts_allowed:
                        raise _ProducerStuck(str(error)) from exc
                    logger.warning("classifier transaction step will be retried: %s", error)
                    time.sleep(self.settings.classifier.retry_backoff_s)
                    continue
                if error.txn_requires_abort():
                    raise _AbortBatch(str(error)) from exc
                raise

    def _report_lag(self, consumer: Consumer) -> None:
        partitions = self._assignment
        if not partitions:
            return
        lag = 0
        try:
            positions = consumer.position(partitions)
            for position in positions:
                _, high = consumer.get_watermark_offsets(position, cached=True)
                if position.offset >= 0 and high >= 0:
                    lag += max(0, high - position.offset)
        except KafkaException as error:
            logger.debug("consumer lag unavailable: %s", error)
            return
        metrics.CONSUMER_LAG.labels(stage=STAGE).set(lag)


def _next_offsets(batch: list[Message]) -> list[TopicPartition]:
    """Per partition, the offset after the batch's last record: what the transaction commits. Derived from
    the batch rather than `position()`, which lists assigned partitions with no position yet."""
    last: dict[tuple[str, int], int] = {}
    for message in batch:
        key = (message.topic(), message.partition())
        last[key] = max(last.get(key, -1), message.offset())
    return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()]


def _first_offsets(batch: list[Message]) -> list[TopicPartition]:
    first: dict[tuple[str, int], int] = {}
    for message in batch:
        key = (message.topic(), message.partition())
        first[key] = min(first.get(key, message.offset()), message.offset())
    return [TopicPartition(topic, partition, offset) for (topic, partition), offset in first.items()]
