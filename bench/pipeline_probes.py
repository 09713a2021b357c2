"""`bench pipeline`'s live probes during a trial: a read_committed subscriber on the outcomes topic (latency
where a consumer sees the window's result) and a sampler of each stage's consumer lag.

The lag is the partition ends minus the group's committed offsets, not the workers' own gauges: Faust reads
ahead into its buffers, so its position (what the selector's gauge reports) stays near the end while the
backlog waits in memory (measured: a gauge lag of 0 with windows 45 s late); a worker commits only what it
processed.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import urllib.request

from confluent_kafka import KafkaException

from bench.pipeline_accounting import SeenOutcome
from streams.committed_offsets import CommittedOffsets
from streams.http_auth import HttpAuthSettings
from streams.reader import TopicReader
from streams.schemas import InvalidMessage, WindowOutcome
from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)


def scrape(port: int, timeout_s: float = 15.0) -> str:
    """A worker's /metrics, with the platform credential the workers inherit from this environment, if any.
    The timeout is generous: on a loaded machine a busy worker's metrics thread waited over 2 s for the GIL."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    auth = HttpAuthSettings()
    if (secret := auth.secret()) is not None:
        token = base64.b64encode(f"{auth.username}:{secret.get_secret_value()}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return response.read().decode()


def is_ready(port: int) -> bool:
    """The worker's /readyz: its model is loaded and it owns its partitions."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2.0) as response:
            return response.status == 200
    except OSError:
        return False


def committed_lag(ends: dict[tuple[str, int], int], committed: dict[tuple[str, int], int]) -> int:
    """Records after the group's committed offsets; a partition with no commit yet lags by all its records."""
    return sum(max(0, end - max(committed.get(partition, 0), 0)) for partition, end in ends.items())


class GroupLag:
    """Each stage's lag: its consumer group and input topic (stage -> (group, topic))."""

    def __init__(self, kafka: KafkaSettings, stages: dict[str, tuple[str, str]]) -> None:
        self._stages = stages
        # Plain consumers, not the admin API's offset listing (it crashes on a fresh broker).
        self._offsets = CommittedOffsets(kafka, timeout_s=10.0)

    def sample(self) -> dict[str, float]:
        lags = {}
        for stage, (group, topic) in self._stages.items():
            partitions = self._offsets.partitions([topic])
            lags[stage] = float(committed_lag(self._offsets.ends(partitions),
                                              self._offsets.committed(group, partitions)))
        return lags

    def close(self) -> None:
        self._offsets.close()


class OutcomeSubscriber(threading.Thread):
    """Receives every committed window outcome and notes when it arrived."""

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        super().__init__(name="outcome-subscriber", daemon=True)
        self._reader = TopicReader(kafka, topic, since=0.0)
        self._stopping = threading.Event()
        self.seen: list[SeenOutcome] = []

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                message = self._reader.poll(0.2)
                if message is None:
                    continue
                seen_at = time.time()
                try:
                    self.seen.append(SeenOutcome(WindowOutcome.model_validate_json(message.value()), seen_at))
                except (InvalidMessage, ValueError) as error:
                    logger.warning("outcome at offset %d unreadable: %s", message.offset(), error)
        finally:
            self._reader.close()

    def stop(self) -> list[SeenOutcome]:
        self._stopping.set()
        self.join(timeout=10.0)
        return list(self.seen)


class LagSampler(threading.Thread):
    """Samples each stage's committed lag every `interval_s` until stopped."""

    def __init__(self, lag: GroupLag, interval_s: float) -> None:
        super().__init__(name="lag-sampler", daemon=True)
        self._lag = lag
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self.samples: dict[str, list[float]] = {}

    def run(self) -> None:
        try:
            while not self._stopping.wait(self._interval_s):
                try:
                    lags = self._lag.sample()
                except KafkaException as error:
                    logger.warning("consumer lag unavailable: %s", error)
                    continue
                for stage, records in lags.items():
                    self.samples.setdefault(stage, []).append(records)
        finally:
            self._lag.close()

    def stop(self) -> dict[str, list[float]]:
        self._stopping.set()
        self.join(timeout=30.0)
        return self.samples
