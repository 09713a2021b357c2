"""Reading the demo's topics from its start time: the live action events, and the counts of the summary."""

from __future__ import annotations

import logging
from collections import Counter
from typing import TypeVar

from confluent_kafka import Message
from pydantic import ValidationError

from actionstream.demo_report import TopicCounts
from streams.deadletter import reason_of
from streams.reader import TopicReader
from streams.records import Clip
from streams.schemas import ActionEvent, Event, Incident, InvalidMessage, WindowOutcome
from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)
E = TypeVar("E", bound=Event)


def parse_event(message: Message) -> ActionEvent | None:
    return _parse(message, ActionEvent)


def _parse(message: Message, kind: type[E]) -> E | None:
    try:
        return kind.model_validate_json(message.value() or b"")
    except ValidationError as error:
        logger.warning("not a %s record at %s[%d]@%d: %s", kind.__name__, message.topic(), message.partition(),
                       message.offset(), error.errors()[:1])
        return None


def read_outcomes(kafka: KafkaSettings, topic: str, since: float) -> list[WindowOutcome]:
    """Every window outcome from `since` to the end of the topic."""
    with TopicReader(kafka, topic, since) as reader:
        return [outcome for message in reader.drain() if (outcome := _parse(message, WindowOutcome)) is not None]


def count_topics(kafka: KafkaSettings, since: float, frames: str, clips: str, deadletter: str, outcomes: str,
                 incidents: str, labels: str) -> TopicCounts:
    """Frames, clips (and distinct windows), dead letters per stage, window outcomes per kind, incidents, labels
    from `since` to the end of each topic; clips holding frames from before `since` (an earlier run's, restored
    from the changelog) are left out."""
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
    with TopicReader(kafka, outcomes, since) as reader:
        results = [outcome for message in reader.drain() if (outcome := _parse(message, WindowOutcome)) is not None]
    kinds = Counter(outcome.outcome for outcome in results)
    with TopicReader(kafka, incidents, since) as reader:
        records = [incident for message in reader.drain() if (incident := _parse(message, Incident)) is not None]
    with TopicReader(kafka, labels, since) as reader:
        label_count = sum(1 for _ in reader.drain())
    return TopicCounts(frames=frame_count, labels=label_count, clips=len(clip_ids), windows=len(set(clip_ids)),
                       deadletters=dict(stages),
                       outcomes=dict(kinds), incidents=len({record.incident_id for record in records}),
                       incidents_ended=sum(record.phase == "end" for record in records),
                       covered=covered_spans(results, since))


def covered_spans(outcomes: list[WindowOutcome], since: float) -> dict[str, tuple[float, float]]:
    """Per camera, the first window start and the last window end of this run's outcomes (action or idle): the
    stretch of its feed the stream classified. Windows an earlier run left open are left out."""
    spans: dict[str, tuple[float, float]] = {}
    for outcome in outcomes:
        if outcome.window_start >= since:
            start, end = spans.get(outcome.camera, (outcome.window_start, outcome.window_end))
            spans[outcome.camera] = (min(start, outcome.window_start), max(end, outcome.window_end))
    return spans
