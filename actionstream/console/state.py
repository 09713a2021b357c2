"""What the console shows, kept in memory: pure state over the records the feed reads (camera status, clips,
action events, drift reports, model updates, retrain results). No Kafka and no HTTP here: the feed thread
applies records, the web app reads views; one lock keeps the two apart."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from streams.records import Clip
from streams.schemas import ActionEvent, CameraStatus, DriftReport, ModelUpdate, RetrainResult

SITE_CAMERA = "*"  # the drift job's camera name for a site's cameras together


@dataclass(frozen=True)
class Thumbnail:
    seq: int
    capture_time: float
    score: float
    jpeg: bytes


@dataclass
class CameraView:
    site: str
    camera: str
    status: CameraStatus | None = None
    thumbnails: deque[Thumbnail] = field(default_factory=deque)
    last_action: ActionEvent | None = None
    # Latest drift report per reference kind ("training", "camera").
    drift: dict[str, DriftReport] = field(default_factory=dict)


def event_view(event: ActionEvent) -> dict[str, Any]:
    """The fields the feed shows, as the page receives them (live and at load)."""
    return {"event_id": event.event_id, "site": event.site, "camera": event.camera, "label": event.label,
            "confidence": event.confidence, "window_start": event.window_start, "window_end": event.window_end,
            "model_version": event.model_version, "shed": event.shed, "incomplete": event.incomplete,
            "latency_s": event.latency.end_to_end}


def drift_view(report: DriftReport) -> dict[str, Any]:
    return {"verdict": report.verdict, "causes": list(report.causes), "share_drifted": report.share_drifted,
            "embedding_mmd2": report.embedding_mmd2, "estimated_accuracy": report.estimated_accuracy,
            "observed_accuracy": report.observed_accuracy, "reference": report.reference,
            "window_end": report.window_end, "model_version": report.model_version}


def update_view(update: ModelUpdate) -> dict[str, Any]:
    return {"model": update.model, "alias": update.alias, "version": update.version, "at": update.at}


def result_view(result: RetrainResult) -> dict[str, Any]:
    return {"request_id": result.request_id, "site": result.site, "outcome": result.outcome,
            "reasons": list(result.reasons), "candidate_version": result.candidate_version,
            "production_version": result.production_version, "finished_at": result.finished_at}


class ConsoleState:
    """Cameras, recent events, drift and model history; thread-safe."""

    def __init__(self, thumbnails: int, recent_events: int, recent_updates: int) -> None:
        self._thumbnails = thumbnails
        self._cameras: dict[tuple[str, str], CameraView] = {}
        self._events: deque[ActionEvent] = deque(maxlen=recent_events)
        self._updates: deque[ModelUpdate] = deque(maxlen=recent_updates)
        self._results: deque[RetrainResult] = deque(maxlen=recent_updates)
        self._lock = threading.Lock()
        self.kafka_error: str | None = None  # set by the feed while it cannot read the topics

    def _camera(self, site: str, camera: str) -> CameraView:
        key = (site, camera)
        if key not in self._cameras:
            self._cameras[key] = CameraView(site, camera, thumbnails=deque(maxlen=self._thumbnails))
        return self._cameras[key]

    def apply_status(self, status: CameraStatus) -> None:
        with self._lock:
            view = self._camera(status.site, status.camera)
            if view.status is None or status.at >= view.status.at:  # compacted topic: replays may come late
                view.status = status

    def apply_clip(self, clip: Clip) -> None:
        with self._lock:
            view = self._camera(clip.site, clip.camera)
            known = {thumbnail.seq for thumbnail in view.thumbnails}
            for frame in clip.frames:  # overlapping windows select the same frame twice: keep it once
                if frame.seq not in known:
                    view.thumbnails.append(Thumbnail(frame.seq, frame.capture_time, frame.score, frame.jpeg))

    def apply_action(self, event: ActionEvent) -> None:
        with self._lock:
            self._events.append(event)
            view = self._camera(event.site, event.camera)
            if view.last_action is None or event.window_start >= view.last_action.window_start:
                view.last_action = event

    def apply_drift(self, report: DriftReport) -> None:
        with self._lock:
            view = self._camera(report.site, report.camera)
            current = view.drift.get(report.reference_kind)
            if current is None or report.window_end >= current.window_end:
                view.drift[report.reference_kind] = report

    def apply_model_update(self, update: ModelUpdate) -> None:
        with self._lock:
            self._updates.append(update)

    def apply_retrain_result(self, result: RetrainResult) -> None:
        with self._lock:
            self._results.append(result)

    def thumbnail(self, site: str, camera: str, seq: int) -> bytes | None:
        with self._lock:
            view = self._cameras.get((site, camera))
            found = [thumbnail for thumbnail in view.thumbnails if thumbnail.seq == seq] if view else []
        return found[0].jpeg if found else None

    def cameras(self) -> list[dict[str, Any]]:
        """Every camera seen (status, clips, events or drift), the site rows (camera "*") last."""
        with self._lock:
            views = sorted(self._cameras.values(), key=lambda view: (view.camera == SITE_CAMERA, view.site,
                                                                     view.camera))
            return [_camera_view(view) for view in views]

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [event_view(event) for event in self._events]

    def updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return [update_view(update) for update in self._updates]

    def results(self) -> list[dict[str, Any]]:
        with self._lock:
            return [result_view(result) for result in self._results]


def _camera_view(view: CameraView) -> dict[str, Any]:
    status = view.status
    return {
        "site": view.site,
        "camera": view.camera,
        "state": status.state if status else "unknown",
        "reason": status.reason if status else "no status published yet",
        "status_at": status.at if status else None,
        "gaps": status.gaps if status else None,
        "reconnects": status.reconnects if status else None,
        "thumbnails": [{"seq": thumbnail.seq, "capture_time": thumbnail.capture_time, "score": thumbnail.score}
                       for thumbnail in view.thumbnails],
        "last_action": event_view(view.last_action) if view.last_action else None,
        "drift": {kind: drift_view(report) for kind, report in sorted(view.drift.items())},
    }
