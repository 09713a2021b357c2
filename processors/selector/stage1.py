"""Stage 1 on confluent-kafka (`stage1.engine: batched`): frames.<site> records in, scored frames out, in batches,
on a thread of a `score` process (scorer.py; the Procfile's default), or of a selector worker beside the Faust app
that keeps stage 2 (`--stage both`).

Stage 1 is stateless, so it needs none of Faust's tables; measured, Faust's per-event path (its event loop and
aiokafka's consumer thread) cost ~3.3 ms CPU per frame against 0.03 ms for a batched confluent-kafka loop. One
loop: take up to `batch_size` records, decode and score them (scoring.py), produce the scored frames and dead
letters, wait for the broker to acknowledge all of them, and only then store the batch's offsets for the next
(auto) commit. Offsets are never stored past a record whose output is not acknowledged, so a killed worker's
successor replays at most the uncommitted tail (stage 2 drops the replayed frames as duplicates): at least once.

A camera's frames stay in order: they share a frames partition (keyed by camera), a batch keeps the partition's
order, and a batch is acknowledged before the next is produced, by an idempotent producer. The producer picks the
scored-frames partition with the Java client's murmur2 hash, as aiokafka's default partitioner does, so stage 2's
idle ticks (which compute it from the key) land on the camera's partition whichever engine scored its frames.

New sites: the consumer subscribes to the pattern `^<prefix>frames\\..+`, which librdkafka matches against the
cluster's topics at every metadata refresh (every `frames_discovery_s`).

Runs in its own consumer group (`<prefix><app_id>-stage1`): Faust's group uses its own assignor protocol.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from processors import metrics
from processors.deadletters import send_dead_letter
from processors.selector.phases import Phase, timed
from processors.selector.scoring import FrameRecord, decode_records, score_frames
from processors.serving import ModelHolder
from processors.settings import ProcessorSettings
from streams.committed_offsets import CommittedOffsets
from streams.records import FrameRef
from streams.topics import Topic, topic_name

logger = logging.getLogger(__name__)

# The thread's name in Python and in /proc/<pid>/task/<tid>/comm, where `bench pipeline` reads its CPU time.
STAGE1_THREAD = "stage1"


def _name_os_thread(name: str) -> None:
    """Name the calling thread for the kernel too (Python names it for itself only); not Linux: nothing."""
    with contextlib.suppress(OSError):
        Path(f"/proc/self/task/{threading.get_native_id()}/comm").write_text(name)


STAGE = "stage1"


def stage1_group_id(topic_prefix: str, app_id: str) -> str:
    return f"{topic_prefix}{app_id}-stage1"


def frames_subscription(settings: ProcessorSettings) -> list[str]:
    """The listed sites' frames topics, or (with discovery on) a pattern for every site's."""
    prefix = settings.kafka.topic_prefix
    if settings.frames_discovery_s:
        frames_prefix = topic_name(Topic.FRAMES, "*", prefix).removesuffix("*")  # "<prefix>frames."
        # Topic names hold only [a-zA-Z0-9._-]: the dot is the one regex operator among them.
        return ["^" + frames_prefix.replace(".", r"\.") + ".+"]
    return [topic_name(Topic.FRAMES, site, prefix) for site in settings.sites]


class BatchedStage1:
    """The stage-1 loop; `run` until `stop` is set (a thread of the worker: `start`, then `stop`)."""

    def __init__(self, settings: ProcessorSettings, holder: ModelHolder, on_assigned: Callable[[], None]) -> None:
        self.settings = settings
        self.holder = holder
        self._on_assigned = on_assigned  # called at every assignment (the worker's readiness waits for the first)
        prefix = settings.kafka.topic_prefix
        self.scored_topic = topic_name(Topic.SCORED_FRAMES, prefix=prefix)
        self.deadletter_topic = topic_name(Topic.DEADLETTER, prefix=prefix)
        self.lag = 0  # records waiting in Kafka at the last report
        self._awaiting_assignment = True  # from the start and from a revocation until the next assignment
        self._lag_unknown = True  # until the lag of the current assignment was read
        self._report_now = False
        self._topics: set[str] = set()  # frames topics assigned so far (a new one is announced)
        self._assignment: set[tuple[str, int]] = set()
        self._start_offsets: dict[tuple[str, int], int] = {}  # where each assigned partition started (committed)
        self._delivery_errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run_or_exit, name=STAGE1_THREAD, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run_or_exit(self) -> None:
        _name_os_thread(STAGE1_THREAD)
        try:
            self.run(self._stop)
        except Exception:
            # The worker must not run on without its stage 1; its partitions go to the others as after a kill.
            logger.exception("stage1 failed; the worker exits")
            os._exit(1)

    # -- Kafka clients ---------------------------------------------------------------------------------------
    def consumer_config(self) -> dict[str, Any]:
        stage1 = self.settings.stage1
        return {
            **self.settings.kafka.client_config(),
            "group.id": stage1_group_id(self.settings.kafka.topic_prefix, self.settings.app_id),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "enable.auto.offset.store": False,  # stored by the loop, after the batch's output is acknowledged
            "auto.commit.interval.ms": 1000,
            "session.timeout.ms": round(stage1.session_timeout_s * 1000),
            "heartbeat.interval.ms": round(stage1.session_timeout_s * 200),
            # A frame record may be as large as the frames topic allows; the limit check is ours (dead letter).
            "fetch.message.max.bytes": self.settings.producer.message_max_bytes,
            # How soon a new site's frames topic matches the subscription pattern.
            "topic.metadata.refresh.interval.ms": round((self.settings.frames_discovery_s or 300.0) * 1000),
        }

    def producer_config(self) -> dict[str, Any]:
        return {**self.settings.kafka.client_config(), **self.settings.producer.client_config(),
                "partitioner": "murmur2_random"}

    # -- the loop --------------------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        consumer = Consumer(self.consumer_config())
        producer = Producer(self.producer_config())
        subscription = frames_subscription(self.settings)
        consumer.subscribe(subscription, on_assign=self._on_assign, on_revoke=self._on_revoke,
                           on_lost=self._on_lost)
        logger.info("stage1 (batched) consuming %s in group %s", ", ".join(subscription),
                    self.consumer_config()["group.id"])
        next_report = 0.0
        try:
            while not stop.is_set():
                with timed(Phase.CONSUME):
                    messages = consumer.consume(self.settings.stage1.batch_size, self.settings.stage1.batch_wait_s)
                records = [message for message in messages if self._is_record(message)]
                if records and self._process(producer, records, stop):
                    self._store_offsets(consumer, records)
                elif records:
                    self._rewind(consumer, records)
                if time.monotonic() >= next_report or self._report_now:
                    self._report_now = False
                    self._report(consumer)
                    next_report = time.monotonic() + self.settings.stage1.lag_report_s
        finally:
            producer.flush(self.settings.stage1.session_timeout_s)
            consumer.close()  # commits the stored offsets and leaves the group
            logger.info("stage1 stopped")

    def _is_record(self, message: Message) -> bool:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                logger.warning("stage1: %s", error)
            return False
        return (message.topic(), message.partition()) in self._assignment

    def _process(self, producer: Producer, messages: list[Message], stop: threading.Event) -> bool:
        """Score the batch and produce its output; True once the broker acknowledged every record of it."""
        self.holder.swap_if_ready()  # a batch boundary: never a batch half by one version
        model = self.holder.current
        batch_size = self.settings.stage1.batch_size
        metrics.RECORDS_IN.labels(stage=STAGE).inc(len(messages))
        metrics.BATCH_SIZE.labels(stage=STAGE).observe(len(messages))
        metrics.BATCH_FILL.labels(stage=STAGE).observe(len(messages) / batch_size)
        records = [FrameRecord(message.value(), message.headers(),
                               FrameRef(message.topic(), message.partition(), message.offset()))
                   for message in messages]
        started = time.perf_counter()
        decoded, refused = decode_records(records, model.runtime.bundle.preprocessing.image_size,
                                          self.settings.stage1)
        scored = score_frames(model.runtime, model.version, decoded, self.settings.stage1.encoder_batch_size)
        metrics.BATCH_SECONDS.labels(stage=STAGE).observe(time.perf_counter() - started)
        by_record = {id(record): message for record, message in zip(records, messages, strict=True)}
        self._delivery_errors.clear()
        with timed(Phase.PRODUCE):
            for refusal in refused:
                self._dead_letter(producer, by_record[id(refusal.record)], refusal.reason)
            for frame in scored:
                self._produce(producer, self.scored_topic, frame.key(), frame.to_bytes())
            # Wait for every acknowledgement (the broker may be away: keep waiting, the stop allowing).
            while producer.flush(1.0) and not stop.is_set():
                pass
        if self._delivery_errors or len(producer):
            logger.warning("stage1: %d records of a batch not delivered (%s); the batch is scored again",
                           len(self._delivery_errors) + len(producer), "; ".join(self._delivery_errors[:3]))
            return False
        for frame in scored:
            metrics.HOP_SECONDS.labels(hop="score").observe(frame.scored_time - frame.ingest_time)
        metrics.RECORDS_OUT.labels(stage=STAGE).inc(len(scored))
        return True

    def _produce(self, producer: Producer, topic: str, key: bytes | None, value: bytes | None) -> None:
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=self._on_delivery)
                return
            except BufferError:  # the producer's queue is full: let it send
                producer.poll(0.1)

    def _on_delivery(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self._delivery_errors.append(str(error))

    def _dead_letter(self, producer: Producer, message: Message, reason: str) -> None:
        send_dead_letter(producer, self.deadletter_topic, STAGE, message, reason, on_delivery=self._on_delivery)
        logger.warning("%s: dead letter %s[%d]@%d: %s", STAGE, message.topic(), message.partition(), message.offset(),
                       reason)

    def _store_offsets(self, consumer: Consumer, messages: list[Message]) -> None:
        consumer.store_offsets(offsets=[TopicPartition(topic, partition, offset + 1)
                                        for (topic, partition), offset in _last_offsets(messages).items()])

    def _rewind(self, consumer: Consumer, messages: list[Message]) -> None:
        """Back to the batch's first records: it is consumed and scored again."""
        for (topic, partition), offset in _first_offsets(messages).items():
            consumer.seek(TopicPartition(topic, partition, offset))

    # -- the group -------------------------------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._start_offsets = self._continue_from_faust_group(consumer, partitions)
        self._assignment = {(tp.topic, tp.partition) for tp in partitions}
        topics = {tp.topic for tp in partitions}
        if self._topics and topics - self._topics:
            logger.info("stage1: consuming new frames topics %s", ", ".join(sorted(topics - self._topics)))
        self._topics |= topics
        logger.info("stage1 assigned %d partitions of %s", len(partitions), ", ".join(sorted(topics)) or "no topic")
        self._awaiting_assignment, self._lag_unknown, self._report_now = False, True, True
        self._on_assigned()

    def _continue_from_faust_group(self, consumer: Consumer, partitions: list[TopicPartition]
                                   ) -> dict[tuple[str, int], int]:
        """Partitions this group never committed start where the Faust agent's group left them (a worker
        upgraded from `stage1.engine: faust`), not at the earliest retained frame: that would be a backlog of
        the frames topics' whole retention, shed on arrival. Returns the offset each partition starts from (none:
        the earliest retained)."""
        own = consumer.committed(partitions, timeout=self.settings.stage1.session_timeout_s)
        starts = {(tp.topic, tp.partition): tp.offset for tp in own if tp.offset >= 0}
        never_committed = [(tp.topic, tp.partition) for tp in own if tp.offset < 0]
        if not never_committed:
            return starts
        faust_group = f"{self.settings.kafka.topic_prefix}{self.settings.app_id}"
        with CommittedOffsets(self.settings.kafka) as offsets:
            inherited = offsets.committed(faust_group, never_committed)
        if not inherited:
            return starts
        for tp in partitions:
            tp.offset = inherited.get((tp.topic, tp.partition), tp.offset)
        consumer.assign(partitions)
        logger.info("stage1: %d partitions continue from group %s's committed offsets", len(inherited),
                    faust_group)
        return {**starts, **inherited}

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Every batch taken so far is acknowledged and stored: hand its offsets over before another owner starts.
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as error:
            if error.args[0].code() != KafkaError._NO_OFFSET:
                logger.warning("stage1: commit at revocation failed: %s", error)
        self._assignment, self._awaiting_assignment = set(), True
        logger.info("stage1 handed over %d partitions", len(partitions))

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # The group moved on without us (session timeout): a commit would be refused; the new owner replays.
        self._assignment, self._awaiting_assignment = set(), True
        logger.warning("stage1 lost %d partitions to the group (no heartbeat in time)", len(partitions))

    def _report(self, consumer: Consumer) -> None:
        """Partitions owned per frames topic and records waiting behind this worker's positions."""
        assignment = [TopicPartition(topic, partition) for topic, partition in sorted(self._assignment)]
        counts: dict[str, int] = dict.fromkeys(self._topics, 0)
        for partition in assignment:
            counts[partition.topic] += 1
        for topic, count in counts.items():
            metrics.ASSIGNED_PARTITIONS.labels(topic=topic).set(count)
        lag = self._lag(consumer, assignment)
        if lag is None:  # not known yet: stage 2 keeps assuming a backlog
            return
        metrics.CONSUMER_LAG.labels(stage=STAGE).set(lag)
        self.lag = lag
        self._lag_unknown = False

    def _lag(self, consumer: Consumer, assignment: list[TopicPartition]) -> int | None:
        """Records from each partition's position to its end, from what the consumer already knows: no broker
        round trip on this thread. (py-spy, a drain of 12 cameras: the blocking watermark queries for partitions
        not consumed yet held stage 1's thread for 47 % of its samples, 2-3 s of every lag report.) A partition
        none of whose records was consumed yet counts from where it started (its committed offset, else its
        earliest), so right after an assignment the backlog counts. None while an end or an earliest offset is not
        known yet (the partition not fetched since the assignment)."""
        lag = 0
        for partition in consumer.position(assignment) if assignment else []:
            low, high = consumer.get_watermark_offsets(partition, cached=True)
            offset = partition.offset if partition.offset >= 0 else \
                self._start_offsets.get((partition.topic, partition.partition), low)
            if high < 0 or offset < 0:
                return None
            lag += max(0, high - offset)
        return lag

    @property
    def behind(self) -> bool:
        """Frames may be waiting for this worker's stage 1: a backlog, or none known (no assignment since the last
        revocation, or the lag not read since)."""
        return self._awaiting_assignment or self._lag_unknown or self.lag > 0


def _last_offsets(messages: list[Message]) -> dict[tuple[str, int], int]:
    return {(message.topic(), message.partition()): message.offset() for message in messages}


def _first_offsets(messages: list[Message]) -> dict[tuple[str, int], int]:
    first: dict[tuple[str, int], int] = {}
    for message in messages:
        first.setdefault((message.topic(), message.partition()), message.offset())
    return first

