"""The selector's Kafka consumer: Faust's aiokafka consumer without its offset-gap bookkeeping.

Measured in the selector's kill test (issue 9): when a worker takes over a killed worker's partitions, records
it fetched before Faust seeks to the committed offsets are delivered after that seek (faust-streaming #216,
#221; the generation check of #223 does not catch it, the seek happens within one generation). Faust then sees
an offset jump from the committed offset to the stale record, records the jump as a gap that counts as acked
(`Consumer._add_gap`), commits across it (#312), and drops the re-read records below its read offset
(`_drain_messages`: "DROPPED MESSAGE"): up to a hundred frames per partition were never scored.

Our input topics have no legitimate offset gaps (no transactions, no compaction on frames or scored-frames), so
this consumer delivers every record it fetches and counts only processed records as acked: a stale record is
processed twice (an at-least-once duplicate, dropped downstream by frame seq and clip id), never lost.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from faust.transport.drivers.aiokafka import Consumer
from faust.types import TP


class _NoReadOffsets(defaultdict):  # type: ignore[type-arg]
    """Read offsets Faust keeps (seek, monitoring) but never compares a fetched record with."""

    def __getitem__(self, tp: TP) -> None:
        return None


class GaplessConsumer(Consumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `_drain_messages` binds this mapping's lookup once: with no read offset it delivers every fetched
        # record (no drop below the read offset) and never opens a gap (`_add_gap` needs a read offset).
        self._read_offset = _NoReadOffsets(lambda: None)
