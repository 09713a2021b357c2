"""The feature sink: scored frames and window outcomes in, one feature row per camera and window out,
pushed to the feature store in batches. The decisions live in processors/features/aggregates.py.

Offsets are committed after a push, and an outcome partition's offset never passes an outcome whose row
is still pending: a restarted sink re-reads those windows instead of losing them (their rows may then count
fewer frames, and a window pushed twice keeps one row in point-in-time reads).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from pydantic import ValidationError

from processors import metrics
from processors.deadletters import send_dead_letter
from processors.features.aggregates import WindowAggregator, WindowFacts, WindowFeatures, camera_key, to_table
from processors.features.settings import FeatureSinkSettings
from streams.health import HEALTH
from streams.records import ScoredFrame
from streams.schemas import InvalidMessage, WindowOutcome
from streams.topics import Topic, topic_name

if TYPE_CHECKING:
    from feature_store.client import FeatureClient

logger = logging.getLogger(__name__)

STAGE = "feature-sink"


@dataclass
class SinkStats:
    frames: int = 0
    outcomes: int = 0
    rows: int = 0
    pushes: int = 0
    deadletters: int = 0
    duplicates: int = 0


class FeatureSink:
    def __init__(self, settings: FeatureSinkSettings, client: FeatureClient) -> None:
        self.settings = settings
        self.options = settings.feature_sink
        self.client = client
        self.aggregator = WindowAggregator(self.options.aggregator())
        self.stats = SinkStats()
        prefix = settings.kafka.topic_prefix
        self.frames_topic = topic_name(Topic.SCORED_FRAMES, prefix=prefix)
        self.outcomes_topic = topic_name(Topic.OUTCOMES, prefix=prefix)
        self.deadletter_topic = topic_name(Topic.DEADLETTER, prefix=prefix)
        self._rows: list[WindowFeatures] = []
        self._consumed: dict[tuple[str, int], int] = {}  # next offset per partition
        self._pending_at: dict[tuple[str, float], tuple[int, int]] = {}  # (camera, window start) -> (partition, offset)

    def run(self, stop: threading.Event) -> SinkStats:
        consumer = Consumer({
            **self.settings.kafka.client_config(),
            "group.id": self.options.group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",  # outcomes are written in the classifier's transactions
        })
        producer = Producer({**self.settings.kafka.client_config(), **self.settings.producer.client_config()})
        consumer.subscribe([self.frames_topic, self.outcomes_topic], on_assign=HEALTH.on_assign,
                           on_revoke=self._revoked)
        logger.info("feature sink: %s and %s -> feature view (history in %s)", self.frames_topic,
                    self.outcomes_topic, self.client.history.directory)
        last_push = last_compact = time.monotonic()
        try:
            while not stop.is_set():
                for message in consumer.consume(self.options.poll_records, self.options.poll_s):
                    self._take(message, producer)
                self._rows += self.aggregator.ready(time.time())
                now = time.monotonic()
                due = len(self._rows) >= self.options.batch_rows or now - last_push >= self.options.flush_s
                if self._rows and due and self._push(consumer, producer):
                    last_push = now
                if now - last_compact >= self.options.compact_s:
                    self.client.history.compact()
                    last_compact = now
            self._push(consumer, producer)  # what is ready; pending windows are re-read after a restart
        finally:
            producer.flush(10.0)
            consumer.close()
        logger.info("feature sink stopped: %s", self.stats)
        return self.stats

    def _revoked(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for revoked in partitions:  # not ours to commit any more
            self._consumed.pop((revoked.topic, revoked.partition), None)

    def _take(self, message: Message, producer: Producer) -> None:
        if message.error() is not None:
            logger.warning("feature sink: %s", message.error())
            return
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic is None or partition is None or offset is None:  # only error events lack coordinates
            return
        self._consumed[(topic, partition)] = offset + 1
        metrics.RECORDS_IN.labels(stage=STAGE).inc()
        try:
            if topic == self.frames_topic:
                self.aggregator.add_frame(ScoredFrame.from_bytes(message.value()))
                self.stats.frames += 1
                return
            facts = WindowFacts.of(WindowOutcome.model_validate_json(message.value() or b""))
            if self.aggregator.add_outcome(facts, time.time()):
                self._pending_at[(camera_key(facts.site, facts.camera), facts.window_start)] = (partition, offset)
                self.stats.outcomes += 1
            else:
                self.stats.duplicates += 1
                metrics.DUPLICATES.labels(stage=STAGE).inc()
        except InvalidMessage as error:
            self._dead_letter(message, producer, str(error))
        except ValidationError as error:
            self._dead_letter(message, producer, f"invalid outcome: {error.errors()[:1]}")
        except Exception as error:  # the sink never dies on a record; the reason names what broke
            logger.exception("feature sink: unexpected error on %s[%d]@%d", topic, partition, offset)
            self._dead_letter(message, producer, f"unexpected error: {error!r}")

    def _dead_letter(self, message: Message, producer: Producer, reason: str) -> None:
        send_dead_letter(producer, self.deadletter_topic, STAGE, message, reason)
        self.stats.deadletters += 1

    def _push(self, consumer: Consumer, producer: Producer) -> bool:
        """Push the waiting rows, then commit; on failure keep them for the next try."""
        if self._rows:
            started = time.perf_counter()
            try:
                self.client.push(to_table(self._rows, time.time()))
            except Exception:  # a store outage must not lose rows or stop the sink: retried next flush
                logger.exception("feature sink: push of %d rows failed; retrying", len(self._rows))
                return False
            metrics.BATCH_SECONDS.labels(stage=STAGE).observe(time.perf_counter() - started)
            metrics.RECORDS_OUT.labels(stage=STAGE).inc(len(self._rows))
            for row in self._rows:
                self._pending_at.pop((row.camera, row.window_start), None)
            self.stats.rows += len(self._rows)
            self.stats.pushes += 1
            self._rows = []
        producer.flush(10.0)  # dead letters are out before their offsets are committed
        if offsets := self._commit_offsets():
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as error:  # e.g. a rebalance took the partitions: their records come again
                logger.warning("feature sink: commit failed: %s", error)
        return True

    def _commit_offsets(self) -> list[TopicPartition]:
        held: dict[int, int] = {}
        for partition, offset in self._pending_at.values():
            held[partition] = min(held.get(partition, offset), offset)
        offsets = []
        for (topic, partition), next_offset in self._consumed.items():
            if topic == self.outcomes_topic and partition in held:
                next_offset = min(next_offset, held[partition])
            offsets.append(TopicPartition(topic, partition, next_offset))
        return offsets
