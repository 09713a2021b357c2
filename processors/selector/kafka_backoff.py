"""A backoff aiokafka lacks: a failed metadata update is retried as soon as anyone asks for one.

With the broker down, the producer's sender asks again each time the previous update fails while a partition
leader is unknown, and a refused connection fails at once: measured on a 20 s outage of a selector worker,
~60,000 connect attempts (each logged twice) and 70% of a core. Faust exposes no aiokafka retry setting, so
the client's update is wrapped: a failed one holds its waiters for the backoff before they may ask again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.client import AIOKafkaClient

_ORIGINAL_UPDATE = AIOKafkaClient._metadata_update


def back_off_failed_metadata_updates(backoff_s: float) -> None:
    """Install (or re-tune) the backoff for every aiokafka client of this process."""

    async def _metadata_update(self: AIOKafkaClient, cluster_metadata: Any, topics: Any) -> bool:
        updated: bool = await _ORIGINAL_UPDATE(self, cluster_metadata, topics)
        if not updated:
            await asyncio.sleep(backoff_s)
        return updated

    AIOKafkaClient._metadata_update = _metadata_update  # type: ignore[method-assign]
