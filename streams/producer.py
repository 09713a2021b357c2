"""An idempotent Kafka producer that counts deliveries, applies back-pressure and flushes on close."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer

from streams.settings import KafkaSettings, ProducerSettings

logger = logging.getLogger(__name__)

DeliveryHook = Callable[[Message | None, KafkaError | None, float], None]


class MessageTooLarge(ValueError):
    """A record larger than the producer's message.max.bytes; it is never sent."""


@dataclass
class DeliveryCounts:
    produced: int = 0
    delivered: int = 0
    failed: int = 0

    @property
    def in_flight(self) -> int:
        return self.produced - self.delivered - self.failed


class ReliableProducer:
    """Wraps confluent-kafka's Producer: acks=all + idempotence, a background poller for delivery callbacks,
    blocking (not dropping) when the local queue is full, and a flush on close."""

    def __init__(self, kafka: KafkaSettings, settings: ProducerSettings) -> None:
        self.settings = settings
        self._producer = Producer({**kafka.client_config(), **settings.client_config()})
        self._counts = DeliveryCounts()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._poller = threading.Thread(target=self._poll_forever, name="kafka-delivery-poller", daemon=True)
        self._poller.start()

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        on_delivery: DeliveryHook | None = None,
    ) -> None:
        if len(value) > self.settings.message_max_bytes:
            raise MessageTooLarge(f"{len(value)} bytes > message_max_bytes {self.settings.message_max_bytes}")
        sent_at = time.monotonic()

        def delivered(error: KafkaError | None, message: Message) -> None:
            with self._lock:
                if error is None:
                    self._counts.delivered += 1
                else:
                    self._counts.failed += 1
            if error is not None:
                logger.error("delivery to %s failed: %s", topic, error)
            if on_delivery is not None:
                on_delivery(message if error is None else None, error, time.monotonic() - sent_at)

        while True:
            try:
                self._producer.produce(topic, value=value, key=key, headers=headers, on_delivery=delivered)
                break
            except BufferError:
                # Local queue full (broker slow or down): wait for deliveries instead of dropping frames.
                self._producer.poll(0.05)
        with self._lock:
            self._counts.produced += 1

    def counts(self) -> DeliveryCounts:
        with self._lock:
            return DeliveryCounts(self._counts.produced, self._counts.delivered, self._counts.failed)

    def flush(self, timeout_s: float = 30.0) -> int:
        """Wait for outstanding deliveries; returns how many are still undelivered."""
        return self._producer.flush(timeout_s)

    def close(self, timeout_s: float = 30.0) -> int:
        remaining = self.flush(timeout_s)
        self._closing.set()
        self._poller.join(timeout=5.0)
        if remaining:
            logger.error("%d records still undelivered at close", remaining)
        return remaining

    def _poll_forever(self) -> None:
        while not self._closing.is_set():
            self._producer.poll(0.1)
