"""Event-time hopping windows per camera (stage 2), as a pure state machine.

Windows start on a grid of the hop H (epoch-aligned, so every worker agrees) and span W seconds. A camera's
watermark is the latest capture time seen; a window closes once the watermark passes its end plus the allowed
lateness, or (no lateness allowed) once its last sampling slot holds a frame: cameras sample one frame per slot
and a camera's frames arrive in order, so no other frame of the window can come, and waiting for the next frame
would add a frame interval (125 ms at 8 fps) to every window's latency. A frame older than every open window is
late: counted and dropped. A camera that stops sending has
its open windows closed, marked incomplete, once `idle_close_s` wall-clock seconds passed since its last frame
arrived. The state is a small JSON document (frame ids and times, not the frames), stored in a changelog-backed
table so another worker resumes it; it is written when windows close, and `restore` adds the frames since.

The document carries its format version so that workers of two releases can share the table during a rolling
upgrade: within a version changes are additive (a reader ignores fields it does not know); a reader refuses a
version newer than its own rather than misread it (a breaking change needs a new version and a new table).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from processors.settings import Stage2Settings
from streams.cameras.sampler import sampling_slot

# 1: the document lists every frame of the open windows (documents written before the field existed, too).
# 2: frames added since the document was written are in their own entries only (claims.py; `restore`). A version-1
#    reader would lose them, so it refuses the document ("upgrade the worker") instead; this reader reads both.
WINDOW_STATE_VERSION = 2


@dataclass(frozen=True)
class ClosedWindow:
    start: float
    end: float
    seqs: list[int]  # frames of the window in time order
    incomplete: bool


@dataclass(frozen=True)
class Admission:
    accepted: bool
    reason: str = ""  # why a frame was not added: "late" or "duplicate"


@dataclass
class CameraWindows:
    """Open-window state of one camera."""

    next_start: float | None = None  # start of the earliest open window
    watermark: float = -math.inf
    frames: dict[int, float] = field(default_factory=dict)  # seq -> capture time, frames of open windows
    last_arrival: float | None = None  # wall-clock time the camera's latest frame was added

    def add(self, seq: int, capture_time: float, settings: Stage2Settings, arrival: float | None = None) -> Admission:
        if self.next_start is None:
            # The first window that contains this frame: the camera's first windows may be partial.
            self.next_start = (math.floor((capture_time - settings.window_s) / settings.hop_s) + 1) * settings.hop_s
        if seq in self.frames:
            return Admission(False, "duplicate")  # a replay after a restart: at-least-once input
        if capture_time < self.next_start:
            return Admission(False, "late")
        self.frames[seq] = capture_time
        self.watermark = max(self.watermark, capture_time)
        if arrival is not None:
            self.last_arrival = arrival
        return Admission(True)

    def restore(self, later: list[tuple[int, float, float]], settings: Stage2Settings) -> list[int]:
        """Frames (seq, capture time, time scored) added after this document was written, back into it: the
        document is written when windows close, not per frame, and each frame's own entry is. Their arrival was not
        stored; the time stage 1 scored them stands in (earlier by stage 1's output lag at most). Returns the
        frames older than every open window: entries whose deletion did not reach the changelog."""
        stale = []
        for seq, capture_time, scored_time in sorted(later, key=lambda frame: frame[1]):
            arrival = max(scored_time, self.last_arrival or scored_time)
            if self.add(seq, capture_time, settings, arrival=arrival).reason == "late":
                stale.append(seq)
        return stale

    def is_idle(self, now: float, settings: Stage2Settings) -> bool:
        """Open windows hold frames and none arrived for `idle_close_s` (wall clock)."""
        return bool(self.frames) and self.last_arrival is not None and now - self.last_arrival >= settings.idle_close_s

    def close_idle(self, now: float, settings: Stage2Settings) -> tuple[list[ClosedWindow], list[int]]:
        """Every open window holding a frame, marked incomplete, when the camera is idle; and the frames to
        evict. Frames of these windows that still come later are late: a window id is emitted once."""
        if self.next_start is None or not self.is_idle(now, settings):
            return [], []
        closed: list[ClosedWindow] = []
        start = self.next_start
        while start <= self.watermark:
            end = start + settings.window_s
            members = sorted((time, seq) for seq, time in self.frames.items() if start <= time < end)
            if members:
                closed.append(ClosedWindow(start, end, [seq for _, seq in members], True))
            start += settings.hop_s
        self.next_start = start
        evicted = list(self.frames)
        self.frames.clear()
        return closed, evicted

    def close_ready(self, settings: Stage2Settings) -> tuple[list[ClosedWindow], list[int]]:
        """Windows the watermark has passed, and the frames no open window needs any more (to evict)."""
        closed: list[ClosedWindow] = []
        if self.next_start is None:
            return closed, []
        last_slot = self._last_sampled_slot(settings)
        while (self.next_start + settings.window_s + settings.allowed_lateness_s <= self.watermark
               or (last_slot is not None and settings.allowed_lateness_s == 0
                   and _last_slot(self.next_start + settings.window_s, settings) <= last_slot)):
            start, end = self.next_start, self.next_start + settings.window_s
            members = sorted((time, seq) for seq, time in self.frames.items() if start <= time < end)
            if members:
                closed.append(ClosedWindow(start, end, [seq for _, seq in members],
                                           _incomplete(start, end, [seq for _, seq in members], settings)))
                self.next_start = start + settings.hop_s
            else:
                # A camera gap: skip straight to the first window holding a buffered frame.
                self.next_start = max(start + settings.hop_s, self._first_start_after(start, settings))
        evicted = [seq for seq, time in self.frames.items() if time < self.next_start]
        for seq in evicted:
            del self.frames[seq]
        return closed, evicted

    def _last_sampled_slot(self, settings: Stage2Settings) -> int | None:
        """The latest slot of stage 2's sampling grid known to hold a frame: the latest frame whose sequence number
        is its capture time's slot at `sample_fps` (one from a camera sampled on another grid holds none)."""
        slots = [seq for seq, time in self.frames.items() if seq == sampling_slot(time, settings.sample_fps)]
        return max(slots, default=None)

    def _first_start_after(self, start: float, settings: Stage2Settings) -> float:
        later = [time for time in self.frames.values() if time >= start]
        if not later:
            return (math.floor((self.watermark - settings.window_s) / settings.hop_s) + 1) * settings.hop_s
        return (math.floor((min(later) - settings.window_s) / settings.hop_s) + 1) * settings.hop_s

    def to_bytes(self) -> bytes:
        return json.dumps({"version": WINDOW_STATE_VERSION, "next_start": self.next_start, "watermark": self.watermark,
                           "frames": [[seq, time] for seq, time in self.frames.items()],
                           "last_arrival": self.last_arrival}).encode()

    @classmethod
    def from_bytes(cls, data: bytes | None) -> CameraWindows:
        if not data:
            return cls()
        state = json.loads(data)
        version = state.get("version", 1)
        if version > WINDOW_STATE_VERSION:
            raise ValueError(f"window state version {version} is newer than this worker reads "
                             f"({WINDOW_STATE_VERSION}): upgrade the worker")
        return cls(state["next_start"], float(state["watermark"]), {int(seq): float(t) for seq, t in state["frames"]},
                   state.get("last_arrival"))


def _first_slot(time: float, settings: Stage2Settings) -> int:
    """The first sampling slot at or after `time` (a window's bounds lie on the slot grid)."""
    return math.ceil(time * settings.sample_fps - 1e-6)


def _last_slot(end: float, settings: Stage2Settings) -> int:
    """The last sampling slot of a window ending at `end`."""
    return _first_slot(end, settings) - 1


def _incomplete(start: float, end: float, seqs: list[int], settings: Stage2Settings) -> bool:
    """Fewer of the window's sampling slots hold a frame than `complete_fraction` asks: a camera gap inside
    the window or at either edge (seq is the slot number on the capture-time grid)."""
    slots = range(_first_slot(start, settings), _first_slot(end, settings))
    present = len(set(seqs).intersection(slots))
    return present < settings.complete_fraction * len(slots)


def expected_candidates(settings: Stage2Settings) -> int:
    return round(settings.window_s * settings.sample_fps)
