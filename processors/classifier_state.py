"""Reads the classifier's per-camera state back from its compacted topic (read_committed: only state that
committed together with its events), for a consumer that was assigned partitions or replaced its producer."""

from __future__ import annotations

import logging
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from processors.incidents import CameraState
from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)


class StateUnavailable(RuntimeError):
    """The state topic could not be read to its end in time; the caller retries before classifying."""


def read_camera_states(kafka: KafkaSettings, topic: str, timeout_s: float) -> dict[str, CameraState]:
    """Every camera's latest committed state, by "site/camera"."""
    consumer = Consumer({
        **kafka.client_config(),
        "group.id": "actionstream-classifier-state-reader",  # never subscribes: assign() only, commits nothing
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "enable.partition.eof": True,
    })
    states: dict[str, CameraState] = {}
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            raise StateUnavailable(f"state topic {topic} not available: {metadata.error if metadata else 'missing'}")
        pending = set(metadata.partitions)
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in pending])
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise StateUnavailable(f"state topic {topic}: {len(pending)} partitions not read in {timeout_s:.0f} s")
            message = consumer.poll(0.2)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    pending.discard(message.partition())
                elif error.fatal():
                    raise KafkaException(error)
                continue
            try:
                state = CameraState.from_bytes(message.value() or b"")
            except (ValueError, TypeError) as unreadable:
                logger.warning("classifier state %s[%d]@%d not readable, skipped: %s", topic, message.partition(),
                               message.offset(), unreadable)
                continue
            states[(message.key() or b"").decode(errors="replace")] = state
    finally:
        consumer.close()
    return states
