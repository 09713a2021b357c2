"""The console's reader: one Kafka consumer, no consumer group (explicit assignment: it takes no partitions
from any worker), committed records only, on a background thread. Each record goes into the state and, when a
page should redraw, to the live hub."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from actionstream.console.live import LiveHub, LiveMessage
from actionstream.console.settings import ConsoleSettings
from actionstream.console.state import ConsoleState, drift_view, event_view, result_view, update_view
from streams.reader import offsets_for_times
from streams.records import Clip
from streams.schemas import ActionEvent, CameraStatus, DriftReport, ModelUpdate, RetrainResult
from streams.topics import Topic, topic_name

logger = logging.getLogger(__name__)

METADATA_TIMEOUT_S = 5.0
RETRY_S = 5.0  # wait between attempts to reach the broker or find a topic that does not exist yet


@dataclass(frozen=True)
class _Source:
    topic: str
    since: float  # epoch seconds the reading starts at; 0: the whole topic
    apply: Callable[[bytes], LiveMessage | None]


class ConsoleFeed:
    def __init__(self, settings: ConsoleSettings, state: ConsoleState, hub: LiveHub) -> None:
        self.settings = settings
        self.state = state
        self.hub = hub
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="console-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10.0)

    def sources(self, now: float) -> list[_Source]:
        options, prefix = self.settings.console, self.settings.kafka.topic_prefix
        recent, thumbnails = now - options.history_s, now - options.thumbnail_history_s
        sources = [
            _Source(topic_name(Topic.MODEL_UPDATES, prefix=prefix), 0.0, self._model_update),
            _Source(topic_name(Topic.CLIPS, prefix=prefix), thumbnails, self._clip),
            _Source(topic_name(Topic.DRIFT_REPORTS, prefix=prefix), recent, self._drift),
            _Source(topic_name(Topic.RETRAIN_RESULTS, prefix=prefix), recent, self._retrain_result),
        ]
        for site in self.settings.sites:
            sources += [_Source(topic_name(Topic.CAMERA_STATUS, site, prefix), 0.0, self._status),
                        _Source(topic_name(Topic.ACTIONS, site, prefix), recent, self._action)]
        return sources

    def _run(self) -> None:
        consumer = Consumer({
            **self.settings.kafka.client_config(),
            "group.id": f"actionstream-console-{uuid.uuid4().hex[:8]}",  # required by the client, never joined
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        })
        waiting = {source.topic: source for source in self.sources(time.time())}
        handlers = {source.topic: source.apply for source in waiting.values()}
        next_lookup = 0.0
        try:
            while not self._stop.is_set():
                if waiting and time.monotonic() >= next_lookup:
                    self._assign_existing(consumer, waiting)
                    next_lookup = time.monotonic() + RETRY_S
                message = consumer.poll(0.5)
                if message is not None:
                    self._handle(message, handlers)
        finally:
            consumer.close()

    def _assign_existing(self, consumer: Consumer, waiting: dict[str, _Source]) -> None:
        """Assign the partitions of the waiting topics that exist now; the others are looked for again later."""
        try:
            topics = consumer.list_topics(timeout=METADATA_TIMEOUT_S).topics
        except KafkaException as error:
            self.state.kafka_error = f"Kafka not reachable at {self.settings.kafka.bootstrap_servers} ({error})"
            return
        self.state.kafka_error = None
        wanted = []
        for name, source in list(waiting.items()):
            metadata = topics.get(name)
            if metadata is None or metadata.error is not None or not metadata.partitions:
                continue
            wanted += [TopicPartition(name, partition, int(source.since * 1000)) for partition in metadata.partitions]
            del waiting[name]
        if not wanted:
            return
        # A partition with no record at or after `since` resolves to its end: only later records.
        consumer.incremental_assign(offsets_for_times(consumer, wanted, timeout_s=METADATA_TIMEOUT_S))
        logger.info("console reading %s", ", ".join(sorted({partition.topic for partition in wanted})))
        if waiting:
            logger.info("console waits for topics that do not exist yet: %s", ", ".join(sorted(waiting)))

    def _handle(self, message: Message, handlers: dict[str, Callable[[bytes], LiveMessage | None]]) -> None:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                self.state.kafka_error = f"reading {message.topic()}: {error.str()}"
            return
        self.state.kafka_error = None
        apply = handlers.get(message.topic() or "")
        if apply is None:
            return
        try:
            live = apply(message.value() or b"")
        except ValueError as invalid:  # pydantic's ValidationError and the records' InvalidMessage
            # The stages dead-letter what they cannot read; the console only skips it.
            logger.debug("console skips an invalid record on %s: %s", message.topic(), invalid)
            return
        if live is not None:
            self.hub.publish(live)

    # -- one parser per topic: apply the record, say what a page should redraw -------------------------------
    def _status(self, value: bytes) -> LiveMessage:
        status = CameraStatus.model_validate_json(value)
        self.state.apply_status(status)
        return LiveMessage("camera", {"site": status.site, "camera": status.camera})

    def _clip(self, value: bytes) -> LiveMessage:
        clip = Clip.from_bytes(value)
        self.state.apply_clip(clip)
        return LiveMessage("camera", {"site": clip.site, "camera": clip.camera})

    def _action(self, value: bytes) -> LiveMessage:
        event = ActionEvent.model_validate_json(value)
        self.state.apply_action(event)
        return LiveMessage("action", event_view(event))

    def _drift(self, value: bytes) -> LiveMessage:
        report = DriftReport.model_validate_json(value)
        self.state.apply_drift(report)
        return LiveMessage("drift", {"site": report.site, "camera": report.camera, **drift_view(report)})

    def _model_update(self, value: bytes) -> LiveMessage:
        update = ModelUpdate.model_validate_json(value)
        self.state.apply_model_update(update)
        return LiveMessage("model", update_view(update))

    def _retrain_result(self, value: bytes) -> LiveMessage:
        result = RetrainResult.model_validate_json(value)
        self.state.apply_retrain_result(result)
        return LiveMessage("model", result_view(result))
