"""The second half of a camera pipeline: resize + JPEG + publish, on its own thread.

libswscale and the mjpeg encoder release the GIL, so while this thread works on sampled frame k the
camera's thread already decodes the frames after it: the two halves overlap on separate cores.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
from confluent_kafka import KafkaError, Message

from streams.cameras import metrics
from streams.cameras.config import CameraConfig
from streams.codec import JpegEncoder, JpegSettings
from streams.producer import ReliableProducer
from streams.schemas import FrameHeaders

logger = logging.getLogger(__name__)

Count = Callable[..., None]


@dataclass(frozen=True)
class SampledVideoFrame:
    frame: av.VideoFrame
    seq: int
    capture_time: float


class EncodeStage:
    """Bounded hand-off (the decoder blocks when this stage falls behind, so memory stays bounded)."""

    def __init__(
        self,
        site: str,
        config: CameraConfig,
        producer: ReliableProducer,
        topic: str,
        max_message_bytes: int,
        count: Count,
        clock: Callable[[], float] = time.time,
        queue_size: int = 4,
    ) -> None:
        self.site = site
        self.config = config
        self._producer = producer
        self._topic = topic
        self._max_message_bytes = max_message_bytes
        self._count = count
        self._clock = clock
        self._labels = {"site": site, "camera": config.id}
        self._key = config.id.encode()
        self._encoder = JpegEncoder(
            JpegSettings(config.width, config.height, config.jpeg_quality, config.interpolation)
        )
        self._queue: queue.Queue[SampledVideoFrame | None] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name=f"encode-{site}-{config.id}", daemon=True)
        self._thread.start()

    def submit(self, sampled: SampledVideoFrame) -> None:
        self._queue.put(sampled)

    def close(self) -> None:
        """Encode and hand to the producer everything already submitted, then end the thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (sampled := self._queue.get()) is not None:
            try:
                self._publish(sampled)
            except av.FFmpegError as error:
                self._count(dropped=1)
                metrics.FRAMES_DROPPED.labels(**self._labels, reason="encode_error").inc()
                logger.error("camera %s: frame %d not encoded: %s", self.config.id, sampled.seq, error)

    def _publish(self, sampled: SampledVideoFrame) -> None:
        started = time.perf_counter()
        jpeg = self._encoder.encode(sampled.frame)
        metrics.ENCODE_SECONDS.labels(**self._labels).observe(time.perf_counter() - started)
        if len(jpeg) > self._max_message_bytes:
            self._count(dropped=1)
            metrics.FRAMES_DROPPED.labels(**self._labels, reason="oversize").inc()
            logger.error("camera %s: frame %d dropped: %d bytes > topic limit %d",
                         self.config.id, sampled.seq, len(jpeg), self._max_message_bytes)
            return
        headers = FrameHeaders(
            site=self.site,
            camera=self.config.id,
            seq=sampled.seq,
            capture_time=sampled.capture_time,
            ingest_time=self._clock(),
            width=self.config.width,
            height=self.config.height,
        )
        self._producer.produce(
            self._topic, jpeg, key=self._key, headers=headers.to_headers(), on_delivery=self._on_delivery
        )

    def _on_delivery(self, message: Message | None, error: KafkaError | None, latency_s: float) -> None:
        if message is None:
            self._count(dropped=1)
            metrics.FRAMES_DROPPED.labels(**self._labels, reason="delivery_failed").inc()
            return
        size = len(message.value() or b"")
        self._count(published=1, bytes=size)
        metrics.FRAMES_PUBLISHED.labels(**self._labels).inc()
        metrics.MESSAGE_BYTES.labels(**self._labels).inc(size)
        metrics.PUBLISH_LATENCY.labels(**self._labels).observe(latency_s)
