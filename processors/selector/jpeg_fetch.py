"""Reads the JPEGs of a closed window's selected frames back from scored-frames, by the claims the window state
holds (claims.py), on a consumer of its own without a group (it commits nothing and joins no rebalance).

Why scored-frames and not the frames topics: it is stage 2's own input, so the claim points at the exact record
the state applied (the same JPEG bytes the clip carried before), its retention is the platform's rather than a
site's, and the worker already reads it. A window's frames lie close together on the camera's partition, so one
pass reads forward over them, seeking over long gaps. A record gone by retention is reported as expired (the
caller decides the outcome); a broker that does not answer is waited for, as a clip's send waits for its ack.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_END, Consumer, KafkaError, TopicPartition

from processors import metrics
from processors.settings import Stage2Settings
from streams.records import FrameRef, ScoredFrame
from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)


@dataclass
class Fetched:
    jpegs: dict[FrameRef, bytes] = field(default_factory=dict)
    expired: list[FrameRef] = field(default_factory=list)  # no longer in the topic (retention, a recreated topic)


class JpegFetcher:
    def __init__(self, kafka: KafkaSettings, settings: Stage2Settings) -> None:
        self._settings = settings
        self._consumer = Consumer({
            **kafka.client_config(),
            "group.id": "actionstream-jpeg-fetch",  # required by the client; never joined (assign only), no commits
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",  # an expired offset resumes at the earliest record: reported expired
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 10,  # the wanted records exist: never wait for more at the partition's end
            # Read about a window's worth, not the partition's backlog behind it (the client prefetches otherwise),
            # and fetch again at once when more is wanted: the client's default waits a second after a full queue
            # (seen: reads of a window's JPEGs waited 1 s each under load).
            "max.partition.fetch.bytes": 1024 * 1024,
            "queued.min.messages": 64,
            "queued.max.messages.kbytes": 4096,
            "fetch.queue.backoff.ms": 0,
        })

    def warm_up(self, partitions: Sequence[tuple[str, int]]) -> None:
        """Read each partition to its end once, before the first window's read-back: the client's first fetch
        (leader connection, offset lookup, fetch set-up) took 0.8-0.9 s under a running demo's load against
        10-25 ms for the next ones, and the first round of windows waited for it (select hops of ~1 s, shed)."""
        if not partitions:
            return
        started = time.perf_counter()
        pending = set(partitions)
        self._consumer.assign([TopicPartition(topic, partition, OFFSET_END) for topic, partition in partitions])
        deadline = time.monotonic() + self._settings.jpeg_fetch_retry_s * 10
        try:
            while pending and time.monotonic() < deadline:
                message = self._consumer.poll(self._settings.jpeg_fetch_retry_s)
                if message is not None and message.error() and message.error().code() == KafkaError._PARTITION_EOF:
                    pending.discard((message.topic(), message.partition()))
        finally:
            self._consumer.unassign()
        if pending:  # not a failure: the first window's read-back pays for what is left, as before
            logger.warning("stage2: JPEG read-back not warmed up on %d of %d partitions", len(pending),
                           len(partitions))
        else:
            logger.info("stage2: JPEG read-back warmed up on %d partitions in %.0f ms", len(partitions),
                        (time.perf_counter() - started) * 1000)

    def fetch(self, claims: Sequence[FrameRef]) -> Fetched:
        started = time.perf_counter()
        fetched = Fetched()
        by_partition: dict[tuple[str, int], set[int]] = defaultdict(set)
        for claim in claims:
            by_partition[claim.topic, claim.partition].add(claim.offset)
        for (topic, partition), offsets in by_partition.items():
            jpegs, expired = self._read(topic, partition, sorted(offsets))
            fetched.jpegs.update({FrameRef(topic, partition, offset): jpeg for offset, jpeg in jpegs.items()})
            fetched.expired += [FrameRef(topic, partition, offset) for offset in expired]
        metrics.STEP_SECONDS.labels(stage="stage2", step="jpeg_fetch").observe(time.perf_counter() - started)
        return fetched

    def _read(self, topic: str, partition: int, offsets: list[int]) -> tuple[dict[int, bytes], list[int]]:
        pending, jpegs, expired = list(offsets), {}, []
        self._consumer.assign([TopicPartition(topic, partition, pending[0])])
        waiting = False
        try:
            while pending:
                message = self._consumer.poll(self._settings.jpeg_fetch_retry_s)
                if message is None or (message.error() and message.error().code() != KafkaError._PARTITION_EOF):
                    if not waiting:
                        logger.warning("stage2: no answer reading JPEGs back from %s[%d]@%d: waiting (%s)", topic,
                                       partition, pending[0], message.error() if message else "timeout")
                        waiting = True
                    continue
                if waiting:
                    logger.info("stage2: reading JPEGs back from %s[%d] again", topic, partition)
                    waiting = False
                if message.error():  # the partition ends before the offsets: the topic was recreated
                    expired += pending
                    break
                offset = message.offset()
                while pending and pending[0] < offset:  # skipped: deleted by retention
                    expired.append(pending.pop(0))
                if pending and pending[0] == offset:
                    jpegs[offset] = ScoredFrame.from_bytes(message.value()).jpeg
                    pending.pop(0)
                if pending and pending[0] - offset > self._settings.jpeg_fetch_seek_gap:
                    self._consumer.seek(TopicPartition(topic, partition, pending[0]))
        finally:
            self._consumer.unassign()
        return jpegs, expired

    def close(self) -> None:
        self._consumer.close()
