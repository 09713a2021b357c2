"""Reading the demo's topics from its start time: the live action events, and the counts of the summary."""

from __future__ import annotations

import logging
from collections import Counter

from confluent_kafka import Message
from pydantic import ValidationError

from actionstream.demo_report import TopicCounts
from streams.deadletter import reason_of
from streams.reader import TopicReader
from streams.records import Clip
from streams.schemas import ActionEvent, InvalidMessage
from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)


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
