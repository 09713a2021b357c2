"""The selector's Kafka consumer: Faust's aiokafka consumer delivering each input partition in offset order
from the position it was sought to, without Faust's offset-gap bookkeeping.

Measured in the selector's kill test (issue 9): when a worker takes over a killed worker's partitions, records
it fetched before Faust seeks to the committed offsets are delivered after that seek (faust-streaming #216,
#221; the generation check of #223 does not catch it, the seek happens within one generation). Faust then sees
an offset jump from the committed offset to the stale record, records the jump as a gap that counts as acked
(`Consumer._add_gap`), commits across it (#312), and drops the re-read records below its read offset
(`_drain_messages`: "DROPPED MESSAGE"): up to a hundred frames per partition were never scored. Delivering both
the stale records and the re-read ones is no better: a camera's frames then reach stage 2 out of order, and the
ones that come after their window closed are dropped as late.

So this consumer keeps, per input partition, the next offset to deliver (set by every seek) and drops any other
record: a stale one is read again in its turn, a repeated one was delivered already. From a rebalance until
Faust's seek to the committed offsets it delivers nothing of a revoked partition (records fetched before the
rebalance came through in that interval). Only delivered records are
ever acked, so commits never pass a record that was not processed. Our input topics have no legitimate offset
gaps (no transactions, no compaction on frames, scored-frames or ticks); changelog partitions (table recovery)
are left as Faust reads them.

It also holds delivery from the seek after a rebalance until the flow resumes. Faust resumes the partitions, awaits
that seek, then resumes flow control, which clears every channel queue (`FlowControlEvent.resume`). Records fetched
while the seek was awaited had been delivered into those queues and were dropped with them. This consumer had
already moved past them, so they were never read again. Seen as a new site's frames topic whose first 32 frames
were scored and the other 48 never (tests/integration/test_site_discovery.py). A held record is delivered after
the clear, checked against the order the seek set.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from faust.transport.consumer import ensure_TP
from faust.transport.drivers.aiokafka import Consumer
from faust.types import TP, Message

logger = logging.getLogger(__name__)

_AWAIT_SEEK = -1  # a revoked partition's next offset: none until the seek that follows the rebalance


class _NoReadOffsets(defaultdict):  # type: ignore[type-arg]
    """Read offsets Faust keeps (seeks, monitoring) but never compares a fetched record with: no gap is opened
    (`_add_gap` needs a read offset) and no record is dropped before `_in_order` sees it."""

    def __getitem__(self, tp: TP) -> None:
        return None


class GaplessConsumer(Consumer):
    # The service's own lifecycle lines ("Starting...") under Faust's logger tree, so the worker's Faust log
    # level governs them as it does the consumer they replace (mode names a subclass's logger after its module).
    logger = logging.getLogger("faust.transport.gapless_consumer")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_offset = _NoReadOffsets(lambda: None)
        self._next_offset: dict[TP, int] = {}  # input partition -> the only offset delivered next
        self._reported: dict[TP, int] = {}  # the seek position of the last stale record logged
        self._flow_resumed = asyncio.Event()  # cleared from a post-rebalance seek until the flow resumes
        self._flow_resumed.set()
        self._deliver = self.callback
        self.callback = self._in_order

    async def _in_order(self, message: Message) -> None:
        await self._flow_resumed.wait()  # not into a channel queue that the flow's resumption will clear
        tp, offset = message.tp, message.offset
        expected = self._next_offset.get(tp)
        if expected is not None and offset != expected:
            if offset > expected >= 0 and self._reported.get(tp) != expected:  # once per seek: a stall would show
                self._reported[tp] = expected
                logger.info("%s[%d]: offset %d fetched before the seek to %d, dropped (read again in its turn)",
                            tp.topic, tp.partition, offset, expected)
            return
        if not self._is_changelog_tp(tp):
            self._next_offset[tp] = offset + 1
        await self._deliver(message)

    async def seek(self, partition: TP, offset: int) -> None:
        self._expect(ensure_TP(partition), offset)  # first: a record fetched from the new position is the next
        await super().seek(partition, offset)

    async def perform_seek(self) -> None:
        self._flow_resumed.clear()
        await super().perform_seek()

    def resume_flow(self) -> None:
        super().resume_flow()
        self._flow_resumed.set()

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Faust's seek after every rebalance: delivery resumes at the committed offsets, in order. Records
        fetched from a committed offset while the other partitions' offsets were still being read were dropped
        (the order was not set yet), so each partition is sought once more, after its order is set."""
        committed = await super().seek_to_committed()
        for tp, offset in committed.items():
            self._expect(ensure_TP(tp), offset)
            if ensure_TP(tp) in self._next_offset:
                await self._seek(tp, offset)
        return committed

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:
            if not self._is_changelog_tp(tp):
                self._next_offset[tp] = _AWAIT_SEEK
        await super().on_partitions_revoked(revoked)

    def _expect(self, tp: TP, offset: int | None) -> None:
        if offset is None or offset < 0 or self._is_changelog_tp(tp):
            self._next_offset.pop(tp, None)  # no position known: the next record fetched starts the order
        else:
            self._next_offset[tp] = offset
