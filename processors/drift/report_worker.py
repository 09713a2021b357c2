"""Evidently HTML reports off the hot path: a worker thread renders them (seconds each) from a bounded queue;
when it falls behind, new requests are skipped and counted rather than slowing the job."""

from __future__ import annotations

import logging
import queue
import threading

from processors import metrics
from processors.drift.profile import ReferenceProfile
from processors.drift.reports import ReportStore, build_reports
from processors.drift.sample import WindowSample
from processors.drift.settings import DriftSettings, ReportSettings

logger = logging.getLogger(__name__)
_Job = tuple[ReferenceProfile, WindowSample, str]


class ReportWorker:
    def __init__(self, reports: ReportSettings, drift: DriftSettings, queue_size: int) -> None:
        self.drift = drift
        self.store = ReportStore(reports)
        self._queue: queue.Queue[_Job | None] = queue.Queue(queue_size)
        self._thread = threading.Thread(target=self._work, name="drift-reports-html", daemon=True)
        self._thread.start()

    def submit(self, profile: ReferenceProfile, window: WindowSample, name: str) -> bool:
        try:
            self._queue.put_nowait((profile, window, name))
        except queue.Full:
            metrics.DRIFT_HTML_REPORTS.labels(outcome="skipped").inc()
            return False
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Renders what is queued (up to the timeout), then stops."""
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            profile, window, name = job
            try:
                paths = self.store.save(build_reports(profile, window, self.drift), name)
            except Exception:  # a report that cannot render must not stop the others
                logger.exception("drift report %s could not be rendered", name)
                metrics.DRIFT_HTML_REPORTS.labels(outcome="failed").inc()
                continue
            metrics.DRIFT_HTML_REPORTS.labels(outcome="written").inc()
            logger.info("drift report %s: %s", name, ", ".join(str(path) for path in paths))
