"""The classifier consumer: clips in, one outcome per window out (and an action event when it shows an
action, and incident records), exactly once.

Consume-transform-produce in Kafka transactions (confluent-kafka, not Faust): each batch's outcomes, action
events, incident records, dead letters, the per-camera state they lead to and the consumer offsets they
cover commit together or not at all, and readers use read_committed, so a crash or a broker restart never
loses or doubles a record. The per-camera state (last window: the de-duplication watermark; open incident)
lives on a compacted topic and is read back whenever partitions are assigned, so de-duplication and
incidents survive restarts and hand-overs. Batches fill dynamically across cameras up to `max_batch` clips
or `max_wait_s`. Records that are not valid clips go to the dead-letter topic. The model switches version
only between batches.
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
from processors.classification import STAGE, Classified, ClipClassifier, Rejected, observe
from processors.classifier_state import read_camera_states
from processors.incidents import CameraState, Transition, apply_window, expire, newer
from processors.serving import CLASSIFIER_WARM_UP, ModelHolder
from processors.settings import ProcessorSettings
from processors.shadow import ShadowModel, shadow_outcomes
from streams.broker_monitor import request_failed
from streams.deadletter import DeadLetter
from streams.health import HEALTH
from streams.reader import TopicUnreadable
from streams.records import Clip
from streams.schemas import InvalidMessage, ShadowOutcome
from streams.settings import KafkaSettings
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
    cameras: dict[str, CameraState] = field(default_factory=dict)  # states after the batch, cameras it touched
    transitions: list[Transition] = field(default_factory=list)
    shadow: list[ShadowOutcome] = field(default_factory=list)  # a candidate's results on the same windows


@dataclass
class ClassifierStats:
    events: int = 0
    deadletters: int = 0
    duplicates: int = 0
    aborted_batches: int = 0


class ClassifierConsumer:
    def __init__(self, settings: ProcessorSettings, holder: ModelHolder | None = None,
                 state_reader: Callable[[KafkaSettings, str, float], dict[str, CameraState]] = read_camera_states,
                 shadow: ShadowModel | None = None) -> None:
        self.settings = settings
        self._read_states = state_reader
        if holder is None:
            holder = ModelHolder(settings.model, settings.kafka, role=STAGE, warm_up=CLASSIFIER_WARM_UP)
            shadow = shadow or ShadowModel.beside(holder, settings.classifier.shadow_alias, STAGE)
        self.holder = holder
        self.shadow = shadow
        self.classifier = ClipClassifier(settings.classifier, settings.shedding)
        self.cameras: dict[str, CameraState] = {}  # committed state per "site/camera"
        self._camera_partitions: dict[str, tuple[str, int]] = {}  # where each camera's clips come from
        self._restore_needed = False
        self.stats = ClassifierStats()
        self.ready = threading.Event()  # set once partitions are assigned and their cameras' state restored
        prefix = settings.kafka.topic_prefix
        self.clips_topic = topic_name(Topic.CLIPS, prefix=prefix)
        self.deadletter_topic = topic_name(Topic.DEADLETTER, prefix=prefix)
        self.outcomes_topic = topic_name(Topic.OUTCOMES, prefix=prefix)
        self.shadow_topic = topic_name(Topic.SHADOW_OUTCOMES, prefix=prefix)
        self.state_topic = topic_name(Topic.CLASSIFIER_STATE, prefix=prefix)
        self._revocations = 0
        self._assignment: list[TopicPartition] = []

    def run(self, stop: threading.Event) -> None:
        """Classify until `stop` is set; a fatal Kafka error (e.g. fenced by a newer instance) is raised."""
        consumer = Consumer(self._consumer_config())
        producer = self._new_producer()
        timeout_s = self.settings.classifier.transaction_timeout_ms / 1000
        try:
            # Fences a previous instance with our transactional id and aborts whatever it left open.
            self._retrying(lambda: producer.init_transactions(timeout_s), stop)
            consumer.subscribe([self.clips_topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                               on_lost=self._on_revoke)
            self.holder.follow()
            if self.shadow is not None:
                self.shadow.follow()
            next_lag_report = 0.0
            while not stop.is_set():
                batch = self._poll_batch(consumer, stop)
                if self._restore_needed:
                    self._restore_states(stop)
                    self._report_ready()
                try:
                    if batch:
                        self._process(consumer, producer, batch, stop)
                    self._end_silent_incidents(producer, stop)
                except _ProducerStuck as stuck:
                    producer = self._replace_producer(consumer, batch, stop, str(stuck))
                self.holder.swap_if_ready()  # a batch boundary: never a batch half by one version
                if self.shadow is not None:
                    self.shadow.swap_if_ready()
                if time.monotonic() >= next_lag_report:
                    self._report_lag(consumer)
                    next_lag_report = time.monotonic() + self.settings.classifier.lag_report_interval_s
        except _Stopped:
            logger.info("classifier stopped while waiting for the broker")
        finally:
            consumer.close()
            self.holder.close()
            if self.shadow is not None:
                self.shadow.close()
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

    def _new_producer(self) -> Producer:
        return Producer(self._producer_config())

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
        self._restore_needed = True  # their cameras' state may have moved on under another consumer
        logger.info("classifier assigned %d partitions of %s", len(partitions), self.clips_topic)

    def _report_ready(self) -> None:
        """Ready once partitions are assigned and their cameras' state is read back: the first clips then pay
        for neither (the read took ~0.7 s, and it came with the first clip, when it waited for a record)."""
        HEALTH.passed("partitions")
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
            if self._restore_needed:
                break  # just assigned: the cameras' state is read back now, not once a record arrives
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
        # Only now is the cameras' state settled: an aborted batch's clips must be classified again.
        self._settle(sorted_batch.cameras, sorted_batch.transitions)
        for classified in sorted_batch.events:
            observe(classified)
        for _, reason in sorted_batch.rejected:
            metrics.DEADLETTERS.labels(stage=STAGE, reason=reason.split(":")[0][:60]).inc()
        metrics.DUPLICATES.labels(stage=STAGE).inc(sorted_batch.duplicates)
        metrics.BATCH_SECONDS.labels(stage=STAGE).observe(time.perf_counter() - started)
        self.stats.events += len(sorted_batch.events)
        self.stats.deadletters += len(sorted_batch.rejected)
        self.stats.duplicates += sorted_batch.duplicates

    def _sort(self, batch: list[Message]) -> _SortedBatch:
        """Outcomes for new valid clips (with the cameras' next state and incident records), dead letters for
        invalid records, replays counted and dropped. A camera's clips arrive in window order, so a clip at or
        before the camera's last classified window is a replay (a selector worker re-emitting after a restart)."""
        result = _SortedBatch()
        clips: list[tuple[Message, Clip]] = []
        for message in batch:
            try:
                clip = Clip.from_bytes(message.value())
            except InvalidMessage as error:
                result.rejected.append((message, str(error)))
                continue
            state = self.cameras.get(f"{clip.site}/{clip.camera}")
            if state is not None and state.is_replay(clip.window_start):
                result.duplicates += 1
            else:
                clips.append((message, clip))
        outcomes = self.classifier.classify([clip for _, clip in clips], self.holder.current)
        shadowed: list[Clip] = []
        now = time.time()
        for (message, clip), classified in zip(clips, outcomes, strict=True):
            camera = f"{clip.site}/{clip.camera}"
            if isinstance(classified, Rejected):
                # Not a window of the camera: its state stays, so a valid record of that window still counts.
                result.rejected.append((message, classified.reason))
                continue
            state = result.cameras.get(camera) or self.cameras.get(camera) or CameraState(clip.site, clip.camera)
            if state.is_replay(clip.window_start):  # the first valid record of a window wins, within a batch too
                result.duplicates += 1
                continue
            result.events.append(classified)
            shadowed.append(clip)
            self._camera_partitions[camera] = (message.topic(), message.partition())
            transition = apply_window(state, classified.outcome, self.settings.incidents,
                                      self.settings.stage2.hop_s, now)
            result.cameras[camera] = transition.state
            result.transitions.append(transition)
        candidate = self.shadow.active if self.shadow is not None else None
        if candidate is not None and shadowed:
            result.shadow = shadow_outcomes(result.events, self.classifier.classify(shadowed, candidate))
        return result

    def _transact(self, consumer: Consumer, producer: Producer, batch: list[Message], sorted_batch: _SortedBatch,
                  stop: threading.Event) -> None:
        producer.begin_transaction()
        prefix = self.settings.kafka.topic_prefix
        for classified in sorted_batch.events:
            outcome = classified.outcome
            producer.produce(self.outcomes_topic, value=outcome.to_json_bytes(), key=outcome.key())
            if outcome.outcome == "action":
                event = outcome.action_event()
                producer.produce(topic_name(Topic.ACTIONS, event.site, prefix), value=event.to_json_bytes(),
                                 key=event.key())
        for shadow in sorted_batch.shadow:
            producer.produce(self.shadow_topic, value=shadow.to_json_bytes(), key=shadow.key())
        self._produce_state(producer, sorted_batch.cameras, sorted_batch.transitions)
        for message, reason in sorted_batch.rejected:
            letter = DeadLetter.of(stage=STAGE, reason=reason, topic=message.topic(), partition=message.partition(),
                                   offset=message.offset(), value=message.value(), key=message.key(),
                                   headers=message.headers())
            producer.produce(self.deadletter_topic, value=letter.value, key=letter.key, headers=letter.headers)
        offsets = _next_offsets(batch)
        group = consumer.consumer_group_metadata()
        attempts = self.settings.classifier.stuck_after_timeouts
        step_s = self._step_timeout_s()
        committing = time.perf_counter()
        self._retrying(lambda: producer.send_offsets_to_transaction(offsets, group, step_s), stop, attempts)
        self._retrying(lambda: producer.commit_transaction(step_s), stop, attempts)
        metrics.STEP_SECONDS.labels(stage=STAGE, step="commit").observe(time.perf_counter() - committing)

    def _step_timeout_s(self) -> float:
        classifier = self.settings.classifier
        return min(classifier.step_timeout_s, classifier.transaction_timeout_ms / 1000)

    def _produce_state(self, producer: Producer, cameras: dict[str, CameraState],
                       transitions: list[Transition]) -> None:
        """Incident records and the cameras' next state, inside the open transaction."""
        prefix = self.settings.kafka.topic_prefix
        for transition in transitions:
            for incident in transition.incidents:
                producer.produce(topic_name(Topic.INCIDENTS, incident.site, prefix), value=incident.to_json_bytes(),
                                 key=incident.key())
        for state in cameras.values():
            producer.produce(self.state_topic, value=state.to_bytes(), key=state.key())

    def _settle(self, cameras: dict[str, CameraState], transitions: list[Transition]) -> None:
        """The committed transaction's state becomes ours."""
        self.cameras.update(cameras)
        for transition in transitions:
            for incident in transition.incidents:
                metrics.INCIDENTS.labels(phase=incident.phase).inc()

    def _end_silent_incidents(self, producer: Producer, stop: threading.Event) -> None:
        """End, in a transaction of their own, the open incidents of our cameras whose windows stopped."""
        assigned = {(tp.topic, tp.partition) for tp in self._assignment}
        now = time.time()
        transitions = [transition for camera, state in self.cameras.items()
                       if self._camera_partitions.get(camera) in assigned
                       and (transition := expire(state, self.settings.incidents, now)) is not None]
        if not transitions:
            return
        cameras = {f"{t.state.site}/{t.state.camera}": t.state for t in transitions}
        timeout_s = self.settings.classifier.transaction_timeout_ms / 1000
        attempts = self.settings.classifier.stuck_after_timeouts
        producer.begin_transaction()
        self._produce_state(producer, cameras, transitions)
        try:
            self._retrying(lambda: producer.commit_transaction(self._step_timeout_s()), stop, attempts)
        except _AbortBatch:
            self._retrying(lambda: producer.abort_transaction(timeout_s), stop)
            return  # tried again on the next loop
        self._settle(cameras, transitions)

    def _restore_states(self, stop: threading.Event) -> None:
        """Read every camera's committed state back (after an assignment, or when a commit's fate is unknown),
        keeping for each camera whichever state is further along."""
        timeout_s = self.settings.classifier.state_restore_timeout_s
        started = time.perf_counter()
        while not stop.is_set():
            try:
                restored = self._read_states(self.settings.kafka, self.state_topic, timeout_s)
                break
            except (TopicUnreadable, KafkaException) as error:
                logger.warning("classifier state not restored yet, retrying: %s", error)
                time.sleep(self.settings.classifier.retry_backoff_s)
        else:
            raise _Stopped()
        for camera, state in restored.items():
            self.cameras[camera] = newer(self.cameras.get(camera), state)
        self._restore_needed = False
        metrics.STATE_RESTORES.inc()
        logger.info("classifier state of %d cameras restored from %s in %.0f ms", len(restored), self.state_topic,
                    (time.perf_counter() - started) * 1000)

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
        transaction the coordinator aborts. A commit that timed out may still have committed, so the
        consumer resumes from the committed offsets (not the batch's first) and the state is read back."""
        logger.warning("classifier producer replaced (%s); resuming from the committed offsets", reason)
        self.stats.aborted_batches += 1
        producer = self._new_producer()
        timeout_s = self.settings.classifier.transaction_timeout_ms / 1000
        self._retrying(lambda: producer.init_transactions(timeout_s), stop)
        self._seek(consumer, self._retrying(lambda: consumer.committed(self._assignment, timeout_s), stop)
                   if self._assignment else [], fallback=_first_offsets(batch))
        self._restore_states(stop)
        return producer

    def _rewind(self, consumer: Consumer, batch: list[Message]) -> None:
        self._seek(consumer, _first_offsets(batch))

    def _seek(self, consumer: Consumer, positions: list[TopicPartition],
              fallback: list[TopicPartition] | None = None) -> None:
        """Seek our partitions to `positions`; a partition without a valid position there uses `fallback`."""
        assigned = {(tp.topic, tp.partition) for tp in self._assignment}
        targets = {(tp.topic, tp.partition): tp for tp in fallback or []}
        targets.update({(tp.topic, tp.partition): tp for tp in positions if tp.offset >= 0})
        for key, partition in targets.items():
            if key not in assigned:
                continue  # no longer ours: the new owner starts from the committed offset
            try:
                consumer.seek(partition)
            except KafkaException as error:
                logger.warning("seeking %s[%d] to %d: %s", partition.topic, partition.partition, partition.offset,
                               error)

    def _retrying(self, call: Callable[[], T], stop: threading.Event, timeouts_allowed: int = 0) -> T:
        """`call` repeated while Kafka says the error is retriable (broker away, coordinator moving); an
        abortable error raises _AbortBatch, a fatal one propagates. With `timeouts_allowed`, that many
        timeouts in a row raise _ProducerStuck instead of another retry."""
        timeouts = 0
        retries = 0
        while True:
            try:
                result = call()
                if retries:
                    logger.info("classifier transaction step went through after %d retries", retries)
                return result
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                if error.fatal():
                    raise
                if error.retriable():
                    if stop.is_set():
                        raise _Stopped() from exc
                    request_failed(error)  # the monitor probes, and reports an outage once
                    timeouts += error.code() == KafkaError._TIMED_OUT
                    if timeouts_allowed and timeouts >= timeouts_allowed:
                        raise _ProducerStuck(str(error)) from exc
                    # Once per step: during a broker outage this repeats every backoff, the monitor reports it.
                    if not retries:
                        logger.warning("classifier transaction step will be retried: %s", error)
                    retries += 1
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
