"""Reads the classifier's per-camera state back from its compacted topic (read_committed: only state that
committed together with its events), for a consumer that was assigned partitions or replaced its producer."""

from __future__ import annotations

import logging

from processors.incidents import CameraState
from streams.reader import read_to_end
from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)


def read_camera_states(kafka: KafkaSettings, topic: str, timeout_s: float) -> dict[str, CameraState]:
    """Every camera's latest committed state, by "site/camera"; TopicUnreadable when the topic cannot be read
    to its end (the caller retries before classifying)."""
    states: dict[str, CameraState] = {}
    for message in read_to_end(kafka, topic, timeout_s):
        try:
            state = CameraState.from_bytes(message.value() or b"")
        except (ValueError, TypeError) as unreadable:
            logger.warning("classifier state %s[%d]@%d not readable, skipped: %s", topic, message.partition(),
                           message.offset(), unreadable)
            continue
        states[(message.key() or b"").decode(errors="replace")] = state
    return states
