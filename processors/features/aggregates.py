"""Per-camera, per-window feature rows for the feature store, without Kafka or Feast.

A row joins one window's outcome (label, confidence, shed, incomplete) with the scored frames captured inside
the window [start, end): quality stats (brightness, contrast, sharpness), motion and delta_i. Rates (action,
shed, incomplete) and the mean confidence run over the camera's last few windows, so one online read tells
a person how the camera has been doing lately, not only in its last 4 s.
"""

from __future__ import annotations

import bisect
import io
import math
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
from PIL import Image, UnidentifiedImageError

from feature_store.schema import ARROW_SCHEMA, CREATED, TIMESTAMP
from streams.codec import MAX_JPEG_PIXELS, JpegDecodeError, jpeg_dimensions
from streams.records import ScoredFrame
from streams.schemas import InvalidMessage, WindowOutcome

# Contrast and motion need pixels, which scored frames carry only as JPEG: a DCT-scaled greyscale decode
# (~0.15 ms for a 224 px frame) is enough for global statistics.
THUMBNAIL = (56, 56)


@dataclass(frozen=True)
class FrameSample:
    """What the sink keeps of one scored frame."""

    capture_time: float
    delta: float
    brightness: float  # mean luma 0-255 (stage 1)
    sharpness: float  # variance of the Laplacian (stage 1)
    contrast: float  # RMS contrast: standard deviation of the luma, 0-255
    motion: float  # mean absolute luma change from the camera's previous frame; NaN without a recent one


@dataclass(frozen=True)
class WindowFacts:
    """What the sink keeps of one window's outcome."""

    site: str
    camera: str
    window_start: float
    window_end: float
    action: bool
    label: str
    confidence: float
    shed: bool
    incomplete: bool
    model_version: str

    @classmethod
    def of(cls, outcome: WindowOutcome) -> WindowFacts:
        if not (math.isfinite(outcome.window_start) and math.isfinite(outcome.window_end)):
            raise InvalidMessage("outcome with a non-finite window bound")
        if outcome.window_end <= outcome.window_start:
            raise InvalidMessage(f"outcome window ends before it starts: [{outcome.window_start}, "
                                 f"{outcome.window_end})")
        return cls(site=outcome.site, camera=outcome.camera, window_start=outcome.window_start,
                   window_end=outcome.window_end, action=outcome.outcome == "action", label=outcome.label,
                   confidence=outcome.confidence, shed=outcome.shed, incomplete=outcome.incomplete,
                   model_version=outcome.model_version)


@dataclass(frozen=True)
class WindowFeatures:
    """One row of the `camera_window_stats` feature view. Frame statistics are NaN when no scored frame of
    the window reached the sink (it started mid-window, or the frames expired before the outcome came)."""

    camera: str  # entity key: "site/camera"
    site: str
    window_start: float
    window_end: float  # the event time: a window's features exist once it has ended
    frames: int
    brightness: float
    contrast: float
    sharpness: float
    motion: float
    delta_mean: float
    delta_max: float
    action: int
    label: str
    confidence: float
    shed: int
    incomplete: int
    confidence_mean: float
    action_rate: float
    shed_rate: float
    incomplete_rate: float
    model_version: str


def camera_key(site: str, camera: str) -> str:
    return f"{site}/{camera}"


def luma_thumbnail(jpeg: bytes) -> np.ndarray:
    """The frame's luma at THUMBNAIL size (float32, 0-255); InvalidMessage when it is not a decodable JPEG."""
    try:
        # The declared size first: PIL refuses a bomb only far above what a frame may be, and raises its own error.
        width, height = jpeg_dimensions(jpeg)
        if width * height > MAX_JPEG_PIXELS:
            raise JpegDecodeError(f"JPEG image too large: {width}x{height} declared, at most {MAX_JPEG_PIXELS} pixels")
        image = Image.open(io.BytesIO(jpeg))
        image.draft("L", THUMBNAIL)
        luma = image.convert("L")
        if luma.size != THUMBNAIL:
            luma = luma.resize(THUMBNAIL, Image.Resampling.BILINEAR)
        return np.asarray(luma, dtype=np.float32)
    except (UnidentifiedImageError, OSError, ValueError) as error:  # JpegDecodeError is a ValueError
        raise InvalidMessage(f"scored frame with an undecodable JPEG: {error}") from None


def check_frame(frame: ScoredFrame) -> None:
    """Refuse what would poison the averages: non-finite stats or features."""
    for name in ("capture_time", "delta", "brightness", "sharpness"):
        if not math.isfinite(getattr(frame, name)):
            raise InvalidMessage(f"scored frame with a non-finite {name}")
    if not np.isfinite(frame.features).all():
        raise InvalidMessage("scored frame with non-finite features")


@dataclass
class _Camera:
    frames: list[FrameSample] = field(default_factory=list)  # by capture time
    watermark: float = -math.inf  # latest capture time seen
    previous: tuple[float, np.ndarray] | None = None  # capture time and luma of the latest frame
    recent: deque[WindowFacts] = field(default_factory=deque)  # the last windows, for the rates
    seen: deque[float] = field(default_factory=deque)  # window starts already turned into rows


@dataclass(frozen=True)
class AggregatorSettings:
    retain_s: float  # frames are kept this long behind a camera's latest frame
    grace_s: float  # an outcome waits at most this long (wall clock) for its window's last frames
    motion_gap_s: float  # motion is measured only against a frame at most this much older
    rate_windows: int  # windows the rates and the mean confidence run over


class WindowAggregator:
    """Frames and outcomes in (in any interleaving), one feature row per window out.

    A window's row is made once the camera's frames have passed the window end (its frames are all in), or
    once its outcome has waited `grace_s`. A replayed outcome (same camera and window start) is dropped."""

    def __init__(self, settings: AggregatorSettings) -> None:
        self.settings = settings
        self._cameras: dict[str, _Camera] = {}
        self._pending: list[tuple[float, WindowFacts]] = []  # (arrival, facts)

    def add_frame(self, frame: ScoredFrame) -> None:
        """Raises InvalidMessage for a frame that must not count (the caller dead-letters it)."""
        check_frame(frame)
        luma = luma_thumbnail(frame.jpeg)
        state = self._cameras.setdefault(camera_key(frame.site, frame.camera), _Camera())
        motion = math.nan
        if state.previous is not None and 0 < frame.capture_time - state.previous[0] <= self.settings.motion_gap_s:
            motion = float(np.abs(luma - state.previous[1]).mean())
        if state.previous is None or frame.capture_time > state.previous[0]:
            state.previous = (frame.capture_time, luma)
        sample = FrameSample(frame.capture_time, frame.delta, frame.brightness, frame.sharpness,
                             float(luma.std()), motion)
        bisect.insort(state.frames, sample, key=lambda kept: kept.capture_time)
        state.watermark = max(state.watermark, frame.capture_time)
        horizon = state.watermark - self.settings.retain_s
        drop = bisect.bisect_left(state.frames, horizon, key=lambda kept: kept.capture_time)
        del state.frames[:drop]

    def add_outcome(self, facts: WindowFacts, now: float) -> bool:
        """False for a replayed window (already pending or already a row)."""
        key = camera_key(facts.site, facts.camera)
        state = self._cameras.setdefault(key, _Camera())
        if facts.window_start in state.seen or any(
            camera_key(p.site, p.camera) == key and p.window_start == facts.window_start for _, p in self._pending
        ):
            return False
        self._pending.append((now, facts))
        return True

    @property
    def pending(self) -> int:
        return len(self._pending)

    def ready(self, now: float) -> list[WindowFeatures]:
        """Rows for the windows whose frames are in or whose grace has run out, in window order per camera."""
        rows: list[WindowFeatures] = []
        waiting: list[tuple[float, WindowFacts]] = []
        for arrival, facts in sorted(self._pending, key=lambda item: item[1].window_start):
            state = self._cameras[camera_key(facts.site, facts.camera)]
            if state.watermark >= facts.window_end or now - arrival >= self.settings.grace_s:
                rows.append(self._row(state, facts))
            else:
                waiting.append((arrival, facts))
        self._pending = waiting
        return rows

    def _row(self, state: _Camera, facts: WindowFacts) -> WindowFeatures:
        state.seen.append(facts.window_start)
        state.recent.append(facts)
        while len(state.recent) > self.settings.rate_windows:
            state.recent.popleft()
        while len(state.seen) > 4 * self.settings.rate_windows:  # replays come from the recent past only
            state.seen.popleft()
        low = bisect.bisect_left(state.frames, facts.window_start, key=lambda kept: kept.capture_time)
        high = bisect.bisect_left(state.frames, facts.window_end, key=lambda kept: kept.capture_time)
        frames = state.frames[low:high]
        recent = list(state.recent)
        return WindowFeatures(
            camera=camera_key(facts.site, facts.camera), site=facts.site,
            window_start=facts.window_start, window_end=facts.window_end, frames=len(frames),
            brightness=_mean([frame.brightness for frame in frames]),
            contrast=_mean([frame.contrast for frame in frames]),
            sharpness=_mean([frame.sharpness for frame in frames]),
            motion=_mean([frame.motion for frame in frames if not math.isnan(frame.motion)]),
            delta_mean=_mean([frame.delta for frame in frames]),
            delta_max=max((frame.delta for frame in frames), default=math.nan),
            action=int(facts.action), label=facts.label, confidence=facts.confidence,
            shed=int(facts.shed), incomplete=int(facts.incomplete),
            confidence_mean=_mean([window.confidence for window in recent]),
            action_rate=_mean([float(window.action) for window in recent]),
            shed_rate=_mean([float(window.shed) for window in recent]),
            incomplete_rate=_mean([float(window.incomplete) for window in recent]),
            model_version=facts.model_version,
        )


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def to_table(rows: list[WindowFeatures], created: float) -> pa.Table:
    """Rows in the feature store's column order; the event time is the window end (UTC)."""
    columns: dict[str, list[object]] = {name: [] for name in ARROW_SCHEMA.names}
    for row in rows:
        values = asdict(row)
        values[TIMESTAMP] = datetime.fromtimestamp(row.window_end, tz=UTC)
        values[CREATED] = datetime.fromtimestamp(created, tz=UTC)
        for name, column in columns.items():
            column.append(values[name])
    return pa.Table.from_pydict(columns, schema=ARROW_SCHEMA)
