"""The archive sink: scored frames, window outcomes and labels in, segment files under the archive root out
(layout in processors/archive/storage.py, decisions in recorder.py), kept for the label horizon and within
the disk cap.

Offsets are committed only after the records they cover are fsynced (and their dead letters acknowledged):
a crash loses nothing, and a replay appends duplicates that readers drop. A record that does not parse, or
carries non-finite numbers, goes to the dead-letter topic with its reason; the sink carries on.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaException, Message, Producer, TopicPartition
from pydantic import ValidationError

from processors import metrics
from processors.archive.recorder import ArchiveRecorder
from processors.archive.settings import ArchiveSettings
from processors.deadletters import send_dead_letter
from streams.health import HEALTH
from streams.schemas import InvalidMessage
from streams.topics import Topic, topic_name

logger = logging.getLogger(__name__)

STAGE = "archive-sink"


@dataclass
class ArchiveStats:
    frames: int = 0
    outcomes: int = 0
    labels: int = 0
    other_sites: int = 0  # records of sites this sink does not keep
    deadletters: int = 0
    commits: int = 0
    evicted_segments: int = 0
    evicted_bytes: int = 0


class ArchiveSink:
    def __init__(self, settings: ArchiveSettings) -> None:
        self.settings = settings
        self.options = settings.archive
        self.stats = ArchiveStats()
        prefix = settings.kafka.topic_prefix
        self.frames_topic = topic_name(Topic.SCORED_FRAMES, prefix=prefix)
        self.outcomes_topic = topic_name(Topic.OUTCOMES, prefix=prefix)
        self.label_topics = {topic_name(Topic.LABELS, site, prefix): site for site in settings.sites}
        self.deadletter_topic = topic_name(Topic.DEADLETTER, prefix=prefix)
        self.recorder = ArchiveRecorder(settings)
        self._consumed: dict[tuple[str, int], int] = {}  # next offset per partition, written but not committed

    def run(self, stop: threading.Event) -> ArchiveStats:
        consumer = Consumer({
            **self.settings.kafka.client_config(),
            "group.id": self.options.group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",  # outcomes are written in the classifier's transactions
        })
        producer = Producer({**self.settings.kafka.client_config(), **self.settings.producer.client_config()})
        consumer.subscribe([self.frames_topic, self.outcomes_topic, *self.label_topics], on_assign=HEALTH.on_assign,
                           on_revoke=self._revoked)
        logger.info("archive sink: %s, %s and %s -> %s (horizon %g s, cap %d bytes)", self.frames_topic,
                    self.outcomes_topic, ", ".join(self.label_topics), self.options.root, self.options.horizon_s,
                    self.options.max_bytes)
        last_flush = last_evict = time.monotonic()
        try:
            while not stop.is_set():
                for message in consumer.consume(self.options.poll_records, self.options.poll_s):
                    self._take(message, producer)
                now = time.monotonic()
                if now - last_flush >= self.options.flush_s:
                    self._commit(consumer, producer)
                    last_flush = now
                if now - last_evict >= self.options.evict_s:
                    self.evict(time.time())
                    last_evict = now
            self._commit(consumer, producer)
        finally:
            self.recorder.close()
            producer.flush(10.0)
            consumer.close()
        logger.info("archive sink stopped: %s", self.stats)
        return self.stats

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # What was written of the revoked partitions is committed now; their next owner starts after it.
        self.recorder.sync()
        offsets = [TopicPartition(revoked.topic, revoked.partition, next_offset) for revoked in partitions
                   if (next_offset := self._consumed.pop((revoked.topic, revoked.partition), None)) is not None]
        if offsets:
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as error:
                logger.warning("archive sink: commit on revoke failed: %s", error)

    def _take(self, message: Message, producer: Producer) -> None:
        if message.error() is not None:
            logger.warning("archive sink: %s", message.error())
            return
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic is None or partition is None or offset is None:  # only error events lack coordinates
            return
        metrics.RECORDS_IN.labels(stage=STAGE).inc()
        try:
            self._store(topic, message)
        except InvalidMessage as error:
            self._dead_letter(message, producer, str(error))
        except ValidationError as error:
            self._dead_letter(message, producer, f"invalid {self._what(topic)}: {error.errors()[:1]}")
        except OSError:
            raise  # a full or failing disk is not the record's fault: stop before committing past it
        except Exception as error:  # the sink never dies on a record; the reason names what broke
            logger.exception("archive sink: unexpected error on %s[%d]@%d", topic, partition, offset)
            self._dead_letter(message, producer, f"unexpected error: {error!r}")
        self._consumed[(topic, partition)] = offset + 1

    def _what(self, topic: str) -> str:
        return "outcome" if topic == self.outcomes_topic else "label" if topic in self.label_topics else "frame"

    def _store(self, topic: str, message: Message) -> None:
        value = message.value()
        if topic == self.frames_topic:
            kept = self.recorder.add_frame(value)
            self.stats.frames += kept
        elif topic == self.outcomes_topic:
            kept = self.recorder.add_outcome(value)
            self.stats.outcomes += kept
        else:
            kind, stamp_ms = message.timestamp()
            arrival = time.time() if kind == TIMESTAMP_NOT_AVAILABLE else stamp_ms / 1000
            self.recorder.add_label(value, self.label_topics[topic], arrival)
            kept = True
            self.stats.labels += 1
        self.stats.other_sites += not kept

    def _dead_letter(self, message: Message, producer: Producer, reason: str) -> None:
        send_dead_letter(producer, self.deadletter_topic, STAGE, message, reason)
        self.stats.deadletters += 1

    def _commit(self, consumer: Consumer, producer: Producer) -> None:
        """fsync what was written and wait for the dead letters, then commit the offsets they cover."""
        if not self._consumed:
            return
        self.recorder.sync()
        if remaining := producer.flush(10.0):
            logger.warning("archive sink: %d dead letters unacknowledged; offsets not committed", remaining)
            return
        offsets = [TopicPartition(topic, partition, offset) for (topic, partition), offset in self._consumed.items()]
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:  # e.g. a rebalance took the partitions: their records come again
            logger.warning("archive sink: commit failed: %s", error)
            return
        self._consumed.clear()
        self.stats.commits += 1

    def evict(self, now: float) -> None:
        doomed = self.recorder.evict(now)
        self.stats.evicted_segments += len(doomed)
        self.stats.evicted_bytes += sum(segment.size for segment in doomed)
        if doomed:
            logger.info("archive sink: evicted %d segments (%d bytes), oldest %s", len(doomed),
                        sum(segment.size for segment in doomed), doomed[0].path)
