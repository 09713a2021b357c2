"""Reading the demo's topics from its start time: the live action events, and the counts of the summary."""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from pydantic import ValidationError

from actionstream.demo_report import TopicCounts
from streams.deadletter import reason_of
from streams.records import Clip
from streams.schemas import ActionEvent, InvalidMessage
from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)


class TopicReader:
    """One topic from a point in time on, committed records only (read_committed), without a consumer group
    (explicit assignment: it never takes partitions from anyone). `at_end` is true once every partition
    has been read up to its last stable offset."""

    def __init__(self, kafka: KafkaSettings, topic: str, since: float) -> None:
        self.topic = topic
        self._consumer = Consumer({
            **kafka.client_config(),
            "group.id": f"actionstream-demo-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        })
        partitions = self._consumer.list_topics(topic, timeout=10.0).topics[topic].partitions
        wanted = [TopicPartition(topic, partition, int(since * 1000)) for partition in partitions]
        # A partition with no record at or after `since` resolves to its end: only later records.
        self._consumer.assign(self._consumer.offsets_for_times(wanted, timeout=10.0))
        self._pending = set(partitions)

    @property
    def at_end(self) -> bool:
        return not self._pending

    def poll(self, timeout_s: float) -> Message | None:
        message = self._consumer.poll(timeout_s)
        if message is None:
            return None
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                self._pending.discard(message.partition())
            else:
                logger.warning("reading %s: %s", self.topic, error)
            return None
        self._pending.add(message.partition())
        return message

    def drain(self, timeout_s: float = 30.0) -> Iterator[Message]:
        """Every record until all partitions are at their end (or `timeout_s` passes)."""
        deadline = time.monotonic() + timeout_s
        while not self.at_end and time.monotonic() < deadline:
            message = self.poll(0.5)
            if message is not None:
                yield message

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def parse_event(message: Message) -> ActionEvent | None:
    try:
        return ActionEvent.model_validate_json(message.value() or b"")
    except ValidationError as error:
        logger.warning("not an action event at %s[%d]@%d: %s", message.topic(), message.partition(),
                       message.offset(), error.errors()[:1])
        return None


def count_topics(kafka: KafkaSettings, since: float, frames: str, clips: str, deadletter: str) -> TopicCounts:
    """Frames, clips (and distinct windows), dead letters per stage, from `since` to the end of each topic;
    clips holding frames from before `since` (an earlier run's, restored from the changelog) are left out."""
    with TopicReader(kafka, frames, since) as reader:
        frame_count = sum(1 for _ in reader.drain())
    clip_ids: list[str] = []
    with TopicReader(kafka, clips, since) as reader:
        for message in reader.drain():
            try:
                clip = Clip.from_bytes(message.value())
            except InvalidMessage:
                continue  # the classifier dead-letters it: counted there
            if clip.frames[0].capture_time >= since:  # frames are in time order; never empty
                clip_ids.append(clip.clip_id)
    with TopicReader(kafka, deadletter, since) as reader:
        stages = Counter(reason_of(message.headers()).get("stage", "unknown") for message in reader.drain())
    return TopicCounts(frames=frame_count, clips=len(clip_ids), windows=len(set(clip_ids)), deadletters=dict(stages))
