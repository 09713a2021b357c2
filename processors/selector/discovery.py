"""New sites without restarting the workers: stage 1 subscribes to every frames.<site> topic under the prefix,
found by listing the cluster's topics periodically.

Why not a Faust topic pattern: Faust's aiokafka consumer subscribes to topic names only; a pattern topic adds
no name to the subscription ("XXX pattern does not work" in faust/transport/drivers/aiokafka.py `subscribe`),
so it never delivers. Faust resubscribes when the topics of its channels change, but only after coalescing
changes for 45 s and not at all when the change lands during a rebalance; discovery resubscribes itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import cast

import faust
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from faust.transport.conductor import Conductor

from streams.settings import KafkaSettings
from streams.topics import Topic, topic_name

logger = logging.getLogger(__name__)


def frames_topics_to_add(cluster_topics: Iterable[str], subscribed: Iterable[str], prefix: str) -> list[str]:
    """The frames.<site> topics under `prefix` that exist and are not subscribed yet, sorted."""
    frames_prefix = topic_name(Topic.FRAMES, "*", prefix).removesuffix("*")  # "<prefix>frames."
    known = set(subscribed)
    return sorted(name for name in cluster_topics
                  if name.startswith(frames_prefix) and len(name) > len(frames_prefix) and name not in known)


class FramesTopicDiscovery:
    """A Faust timer body: adds new frames topics to the stage-1 channel and resubscribes the consumer."""

    def __init__(self, app: faust.App, frames: faust.TopicT, kafka: KafkaSettings, timeout_s: float) -> None:
        self.app = app
        self.frames = frames
        self.kafka = kafka
        self.timeout_s = timeout_s
        self._admin: AdminClient | None = None

    def _list_topics(self) -> list[str]:
        if self._admin is None:
            self._admin = AdminClient(self.kafka.client_config())
        return list(self._admin.list_topics(timeout=self.timeout_s).topics)

    async def __call__(self) -> None:
        if self.app.rebalancing:  # a subscription change now would be dropped; next time
            return
        try:
            cluster_topics = await asyncio.get_running_loop().run_in_executor(None, self._list_topics)
        except KafkaException as error:  # broker away: the broker monitor reports it
            logger.debug("frames topic discovery: %s", error)
            return
        new = frames_topics_to_add(cluster_topics, self.frames.topics, self.kafka.topic_prefix)
        if not new:
            return
        current = list(self.frames.topics)
        topics = [*current, *new]
        # The agent iterates a clone of the channel, which the conductor holds: update every copy.
        channels = [channel for channel in self.app.topics if set(channel.topics) & set(current)]
        for channel in [self.frames, *channels]:
            channel.topics = topics
        # What the conductor does on a subscription change (the same two calls), without its 45 s delay.
        names = await cast(Conductor, self.app.topics)._update_indices()
        await self.app.consumer.subscribe(names)
        logger.info("stage1: consuming new frames topics %s", ", ".join(new))
