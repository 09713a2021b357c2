"""`bench pipeline`'s live probes during a trial: a read_committed subscriber on the outcomes topic (latency
where a consumer sees the window's result) and a sampler of the workers' consumer-lag gauges."""

from __future__ import annotations

import base64
import logging
import threading
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from bench.pipeline_accounting import SeenOutcome
from streams.http_auth import HttpAuthSettings
from streams.reader import TopicReader
from streams.schemas import InvalidMessage, WindowOutcome
from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)

LAG_METRIC = "actionstream_consumer_lag"


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


def consumer_lags(metrics_text: str) -> dict[str, float]:
    """stage -> records waiting in Kafka, from a worker's /metrics text."""
    return {sample.labels["stage"]: sample.value for family in text_string_to_metric_families(metrics_text)
            if family.name == LAG_METRIC for sample in family.samples}


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
    """Samples each worker's consumer-lag gauges every `interval_s` until stopped."""

    def __init__(self, metrics_ports: list[int], interval_s: float) -> None:
        super().__init__(name="lag-sampler", daemon=True)
        self._ports = metrics_ports
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self.samples: dict[str, list[float]] = {}

    def run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            for port in self._ports:
                try:
                    lags = consumer_lags(scrape(port))
                except OSError as error:
                    logger.warning("lag of the worker on port %d unavailable: %s", port, error)
                    continue
                for stage, records in lags.items():
                    self.samples.setdefault(stage, []).append(records)

    def stop(self) -> dict[str, list[float]]:
        self._stopping.set()
        self.join(timeout=10.0)
        return self.samples
