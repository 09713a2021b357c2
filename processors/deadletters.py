"""Dead-lettering a consumed record from a confluent-kafka consumer: the record untouched, with its reason,
counted per stage and reason. The sinks and jobs call this; the classifier puts its dead letters in its
transaction instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from confluent_kafka import KafkaError, Message, Producer

from processors import metrics
from streams.deadletter import DeadLetter
from streams.schemas import RawHeaders


def send_dead_letter(producer: Producer, deadletter_topic: str, stage: str, message: Message, reason: str,
                     on_delivery: Callable[[KafkaError | None, Message], Any] | None = None) -> None:
    letter = DeadLetter.of(stage=stage, reason=reason, topic=message.topic() or "",
                           partition=message.partition() or 0, offset=message.offset() or 0,
                           value=message.value(), key=message.key(),
                           headers=cast(RawHeaders | None, message.headers()))
    options: dict[str, Any] = {"on_delivery": on_delivery} if on_delivery is not None else {}
    producer.produce(deadletter_topic, value=letter.value, key=letter.key,
                     headers=cast(list[tuple[str, str | bytes | None]], letter.headers), **options)
    producer.poll(0)
    metrics.DEADLETTERS.labels(stage=stage, reason=reason.split(":")[0][:60]).inc()
