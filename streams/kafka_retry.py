"""Asking a Kafka call again while the cluster is in a state that passes by itself: a partition's leader being
elected or moving, a group coordinator loading. librdkafka does not retry these on its synchronous calls
(offsets_for_times, a synchronous commit, the admin client's futures), and most are not marked retriable."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import TypeVar

from confluent_kafka import KafkaError, KafkaException

logger = logging.getLogger(__name__)

Result = TypeVar("Result")

# A topic created a moment ago has no leader known to the client yet, and a restarted broker moves its leaders
# (seen: "Not leader for partition" from the first ListOffsets after a topic's first records); librdkafka
# refreshes its metadata on that answer, so asking again succeeds.
LEADER_MOVING = frozenset({KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE})
# The same, where the topic itself may be too new for the client's metadata. Not for a periodic probe of a topic
# that may have been deleted: it would wait out its whole timeout on every probe.
TOPIC_OR_LEADER_MOVING = LEADER_MOVING | {KafkaError.UNKNOWN_TOPIC_OR_PART}
# A fresh broker's group coordinator answers these for a few seconds (seen: a commit at a session's start failed
# with "Coordinator load in progress").
COORDINATOR_STARTING = frozenset({KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE,
                                  KafkaError.NOT_COORDINATOR})
RETRY_PAUSE_S = 0.2


def retried(call: Callable[[], Result], transient: AbstractSet[int], timeout_s: float,
            *, any_retriable: bool = False) -> Result:
    """The call, repeated while it raises a KafkaException whose code is in `transient` (or, with
    `any_retriable`, one that librdkafka marks retriable), for at most the timeout; then the last error."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return call()
        except KafkaException as error:
            cause = error.args[0]
            passing = cause.code() in transient or (any_retriable and cause.retriable())
            if not passing or time.monotonic() >= deadline:
                raise
            logger.debug("asking again: %s", cause)
        time.sleep(RETRY_PAUSE_S)
