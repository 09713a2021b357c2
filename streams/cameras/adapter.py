"""The camera adapter process: many cameras of one site, one shared idempotent producer, status events."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from streams.cameras.config import SiteConfig
from streams.cameras.worker import CameraStats, CameraWorker
from streams.producer import ReliableProducer
from streams.schemas import CameraStatus
from streams.settings import StreamsSettings
from streams.topics import Topic, spec_for, topic_name

logger = logging.getLogger(__name__)

_POLL_S = 0.05  # how quickly run() notices the end of its duration or of every camera


class CameraAdapter:
    """Runs one worker thread per camera. A camera's trouble stays in its own thread: the others go on.

    Decoding and JPEG encoding run inside FFmpeg with the GIL released, so threads scale across cores.
    """

    def __init__(
        self, site_config: SiteConfig, settings: StreamsSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self.site_config = site_config
        self.settings = settings
        self._stop_event = threading.Event()
        self._producer = ReliableProducer(settings.kafka, settings.producer)
        prefix = settings.kafka.topic_prefix
        self.frames_topic = topic_name(Topic.FRAMES, site_config.site, prefix)
        self.status_topic = topic_name(Topic.CAMERA_STATUS, site_config.site, prefix)
        self._workers = [
            CameraWorker(
                site_config.site,
                camera,
                site_config.resilience,
                self._producer,
                self.frames_topic,
                self._publish_status,
                self._stop_event,
                clock,
                max_message_bytes=spec_for(Topic.FRAMES).max_message_bytes,
            )
            for camera in site_config.cameras
        ]

    def _publish_status(self, status: CameraStatus) -> None:
        self._producer.produce(self.status_topic, status.to_json_bytes(), key=status.key())

    def start(self) -> None:
        for worker in self._workers:
            worker.start()
        logger.info("adapter for site %s started %d cameras", self.site_config.site, len(self._workers))

    def stats(self) -> dict[str, CameraStats]:
        return {worker.config.id: worker.stats() for worker in self._workers}

    def all_finished(self) -> bool:
        """True when every camera has ended (only recordings that do not loop ever end)."""
        return not any(worker.is_alive() for worker in self._workers)

    def run(
        self,
        duration_s: float | None = None,
        report: Callable[[dict[str, CameraStats], float], None] | None = None,
        report_every_s: float = 2.0,
        stop_event: threading.Event | None = None,
    ) -> dict[str, CameraStats]:
        """Start, report periodically, and stop after duration_s, when every camera ended, or on stop_event."""
        self.start()
        started = time.monotonic()
        next_report = started + report_every_s
        external_stop = stop_event or threading.Event()
        try:
            while not external_stop.is_set() and not self.all_finished():
                now = time.monotonic()
                if duration_s is not None and now - started >= duration_s:
                    break
                if report is not None and now >= next_report:
                    report(self.stats(), now - started)
                    next_report += report_every_s
                external_stop.wait(_POLL_S)
        finally:
            self.stop()
        return self.stats()

    def stop(self, timeout_s: float = 30.0) -> int:
        """Stop every camera, then flush the producer. Returns the number of undelivered records."""
        self._stop_event.set()
        for worker in self._workers:
            worker.join(timeout=timeout_s)
        return self._producer.close(timeout_s)

    def __enter__(self) -> CameraAdapter:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
