"""Rolling drift windows per camera and per site (pure bookkeeping; the job feeds records and closes windows).

A camera's window [start, start + window_s) is aligned to multiples of window_s in event time (frame capture
time, outcome window start). It closes once the camera's frames pass its end by `lateness_s` and an outcome
of the camera starts at or after its end (outcomes trail frames, and the two topics are read in no set order,
least of all when catching up), or, for either stream, after `idle_close_s` of wall time without a record of
it from the camera (a silent camera, a classifier that is down). A site window is the
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

    @property
    def model_versions(self) -> set[str]:
        """Every model version that scored a frame or classified a window of it (two around a model switch)."""
        return {frame.model_version for frame in self.frames} | {outcome.model_version for outcome in self.outcomes}


@dataclass
class _Camera:
    open: dict[float, ClosedWindow] = field(default_factory=dict)
    frames_until: float = -math.inf  # latest frame capture time
    outcomes_until: float = -math.inf  # latest outcome window start
    closed_until: float = -math.inf  # records before this belong to windows already reported
    frame_seen: float = -math.inf  # wall time of the last frame, or of the camera's first record
    outcome_seen: float = -math.inf  # wall time of the last outcome, or of the camera's first record

    def closes(self, window: ClosedWindow, lateness_s: float, idle_s: float, now: float) -> bool:
        frames_done = window.end + lateness_s <= self.frames_until or now - self.frame_seen >= idle_s
        outcomes_done = window.end <= self.outcomes_until or now - self.outcome_seen >= idle_s
        return frames_done and outcomes_done


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
        state = self._camera(frame.site, frame.camera, now)
        state.frame_seen = now
        state.frames_until = max(state.frames_until, frame.capture_time)
        window = self._window(state, frame.site, frame.camera, frame.capture_time, at, offset)
        if window is not None:
            window.frames.append(replace(frame, jpeg=b""))
        return window is not None

    def add_outcome(self, outcome: WindowOutcome, at: Offset, offset: int, now: float) -> bool:
        state = self._camera(outcome.site, outcome.camera, now)
        state.outcome_seen = now
        state.outcomes_until = max(state.outcomes_until, outcome.window_start)
        window = self._window(state, outcome.site, outcome.camera, outcome.window_start, at, offset)
        if window is not None:
            window.outcomes.append(outcome)
        return window is not None

    def _camera(self, site: str, camera: str, now: float) -> _Camera:
        state = self._cameras.get((site, camera))
        if state is None:
            state = self._cameras[(site, camera)] = _Camera()
        if state.outcome_seen == -math.inf:  # either stream is waited for from the camera's first record on
            state.frame_seen = state.outcome_seen = now
        return state

    def _window(self, state: _Camera, site: str, camera: str, time: float, at: Offset,
                offset: int) -> ClosedWindow | None:
        if time < state.closed_until:
            return None
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
            for start in sorted(state.open):
                window = state.open[start]
                if state.closes(window, self.lateness_s, self.idle_close_s, now):
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
