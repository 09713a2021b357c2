"""Rolling drift windows per camera and per site (pure bookkeeping; the job feeds records and closes windows).

A camera's window [start, start + window_s) is aligned to multiples of window_s in event time (frame capture
time, outcome window start). It closes when the camera's event time passes its end by `lateness_s` (outcomes
trail frames), or when the camera has been silent for `idle_close_s` of wall time. A site window is the
concatenation of its cameras' windows with the same start, closed once every camera that opened it closed it.
Each open window remembers the lowest Kafka offset it holds per partition, so the job commits only below it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from streams.records import ScoredFrame
from streams.schemas import WindowOutcome

Offset = tuple[str, int]  # (topic, partition)
SITE_CAMERA = "*"  # the camera name of a site window's report


@dataclass
class ClosedWindow:
    site: str
    camera: str  # SITE_CAMERA for a site window
    start: float
    end: float
    frames: list[ScoredFrame] = field(default_factory=list)
    outcomes: list[WindowOutcome] = field(default_factory=list)
    held: dict[Offset, int] = field(default_factory=dict)  # lowest offset held per partition

    @property
    def model_version(self) -> str | None:
        return self.outcomes[-1].model_version if self.outcomes else None


@dataclass
class _Camera:
    open: dict[float, ClosedWindow] = field(default_factory=dict)
    watermark: float = -math.inf  # latest event time seen
    closed_until: float = -math.inf  # records before this belong to windows already reported
    last_seen: float = 0.0  # wall time of the last record


@dataclass
class _SiteBucket:
    cameras: set[str] = field(default_factory=set)
    closed: list[ClosedWindow] = field(default_factory=list)


class DriftWindows:
    def __init__(self, window_s: float, lateness_s: float, idle_close_s: float) -> None:
        self.window_s = window_s
        self.lateness_s = lateness_s
        self.idle_close_s = idle_close_s
        self._cameras: dict[tuple[str, str], _Camera] = {}
        self._sites: dict[tuple[str, float], _SiteBucket] = {}

    def add_frame(self, frame: ScoredFrame, at: Offset, offset: int, now: float) -> bool:
        """False when the frame is late: its window was already closed and reported."""
        # The JPEG is not tested: dropping it keeps an open window at X_i and a few numbers per frame.
        window = self._window(frame.site, frame.camera, frame.capture_time, frame.capture_time, at, offset, now)
        if window is not None:
            window.frames.append(replace(frame, jpeg=b""))
        return window is not None

    def add_outcome(self, outcome: WindowOutcome, at: Offset, offset: int, now: float) -> bool:
        window = self._window(outcome.site, outcome.camera, outcome.window_start, outcome.window_end, at, offset,
                              now)
        if window is not None:
            window.outcomes.append(outcome)
        return window is not None

    def _window(self, site: str, camera: str, time: float, event_time: float, at: Offset, offset: int,
                now: float) -> ClosedWindow | None:
        state = self._cameras.setdefault((site, camera), _Camera())
        state.last_seen = now
        if time < state.closed_until:
            return None
        state.watermark = max(state.watermark, event_time)
        start = math.floor(time / self.window_s) * self.window_s
        window = state.open.get(start)
        if window is None:
            window = state.open[start] = ClosedWindow(site, camera, start, start + self.window_s)
            self._sites.setdefault((site, start), _SiteBucket()).cameras.add(camera)
        window.held[at] = min(window.held.get(at, offset), offset)
        return window

    def due(self, now: float) -> list[ClosedWindow]:
        """Windows closed by event time or by a silent camera, then the site windows they complete; in order of
        start per camera."""
        closed: list[ClosedWindow] = []
        for state in self._cameras.values():
            silent = now - state.last_seen >= self.idle_close_s
            for start in sorted(state.open):
                window = state.open[start]
                if silent or window.end + self.lateness_s <= state.watermark:
                    closed.append(state.open.pop(start))
                    state.closed_until = max(state.closed_until, window.end)
        return closed + [site for window in closed if (site := self._site_window(window)) is not None]

    def _site_window(self, window: ClosedWindow) -> ClosedWindow | None:
        key = (window.site, window.start)
        bucket = self._sites[key]
        bucket.closed.append(window)
        if len(bucket.closed) < len(bucket.cameras):
            return None
        del self._sites[key]
        parts = sorted(bucket.closed, key=lambda part: part.camera)
        return ClosedWindow(window.site, SITE_CAMERA, window.start, window.end,
                            [frame for part in parts for frame in part.frames],
                            [outcome for part in parts for outcome in part.outcomes])

    def held(self) -> dict[Offset, int]:
        """Lowest offset per partition that an open camera window still needs."""
        lowest: dict[Offset, int] = {}
        for state in self._cameras.values():
            for window in state.open.values():
                for at, offset in window.held.items():
                    lowest[at] = min(lowest.get(at, offset), offset)
        return lowest

    @property
    def open_windows(self) -> int:
        return sum(len(state.open) for state in self._cameras.values())

    def closed_until(self) -> dict[str, float]:
        """site/camera -> end of its last closed window: saved with the job state, so records read again after a
        restart do not reopen (and report twice, partly) a window already reported."""
        return {f"{site}/{camera}": state.closed_until for (site, camera), state in self._cameras.items()
                if state.closed_until > -math.inf}

    def restore(self, closed_until: dict[str, float]) -> None:
        """Forget every open window (their records come again from the committed offsets)."""
        self._cameras.clear()
        self._sites.clear()
        for key, until in closed_until.items():
            site, camera = key.split("/", 1)
            self._cameras[(site, camera)] = _Camera(closed_until=until)
