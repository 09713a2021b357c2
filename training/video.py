"""Video decoding with PyAV: T candidate frames per clip, whole clips, and writing clips back.

Frames asked for at a size go through the camera adapter's resize and JPEG round trip
(`streams.serving_frames`), so training and evaluation see the pixels serving sees."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from streams.serving_frames import ServingFrames

logger = logging.getLogger(__name__)

DEFAULT_CODEC = "mpeg4"  # plays in an .avi container and needs no external library


class CorruptVideoError(Exception):
    """A file that cannot be decoded as a video (unreadable, not a video, or no frames)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class CandidateFrames:
    """T frames sampled from one clip, in time order."""

    frames: np.ndarray  # uint8 [T, H, W, 3] RGB
    frame_indices: np.ndarray  # int64 [T], index into the decoded stream
    times: np.ndarray  # float64 [T], presentation time in seconds


@dataclass(frozen=True)
class DecodedVideo:
    """Every frame of one clip and its frame rate."""

    frames: np.ndarray  # uint8 [N, H, W, 3] RGB
    times: np.ndarray  # float64 [N] seconds
    fps: float


def sample_candidate_frames(path: Path, num_candidates: int, size: int | None = None) -> CandidateFrames:
    """Decode ``path`` and pick ``num_candidates`` frames uniformly over its presentation time.

    Two decoding passes (timestamps, then the chosen frames) keep memory at T frames for long clips.
    A clip shorter than T frames yields repeated frames. ``size``: size x size frames as stage 1 decodes them
    from a camera's records (resize + JPEG round trip).
    """
    if num_candidates < 1:
        raise ValueError(f"num_candidates must be >= 1, got {num_candidates}")
    path = Path(path)
    times = _decode_timestamps(path)
    chosen = uniform_time_indices(times, num_candidates)
    frames_by_index = _decode_selected(path, set(chosen.tolist()), size)
    frames = np.stack([frames_by_index[index] for index in chosen.tolist()])
    return CandidateFrames(frames=frames, frame_indices=chosen, times=times[chosen])


def read_video_frames(path: Path, size: int | None = None) -> DecodedVideo:
    """Decode every frame of ``path`` (for short clips: curation, offline augmentation); ``size`` as in
    `sample_candidate_frames`."""
    path = Path(path)
    frames: list[np.ndarray] = []
    times: list[float] = []
    to_rgb = _rgb_converter(size)
    with _open_video(path) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 0.0)
        try:
            for frame in container.decode(stream):
                frames.append(to_rgb(frame))
                times.append(_frame_time(frame, len(times), fps))
        except av.FFmpegError as error:
            raise CorruptVideoError(path, f"decoding failed: {error}") from error
    if not frames:
        raise CorruptVideoError(path, "no decodable video frames")
    return DecodedVideo(frames=np.stack(frames), times=np.asarray(times, dtype=np.float64), fps=fps)


def write_video(path: Path, frames: np.ndarray, fps: float, codec: str = DEFAULT_CODEC) -> Path:
    """Encode uint8 RGB frames [N, H, W, 3] to ``path`` (container chosen by the suffix)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames [N, H, W, 3], got {frames.dtype} {frames.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames.shape[1:3]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        if not isinstance(stream, av.VideoStream):
            raise ValueError(f"{codec!r} is not a video codec")
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def uniform_time_indices(times: np.ndarray, num_samples: int) -> np.ndarray:
    """Indices of one frame in each of ``num_samples`` equal slices of [first pts, last pts + one frame).

    The camera sampler's rule (`streams/cameras/sampler.py`): the first frame whose pts falls in the slice, so a
    clip replayed on the window grid gives its window the frames `evaluate` takes (the frame at each slice's
    centre was up to one frame later than the sampler's). A slice no frame falls in (a clip of fewer than T
    frames) takes the frame on screen at its start.
    """
    if times.size == 0:
        raise ValueError("no frame times")
    order = np.argsort(times, kind="stable")
    sorted_times = times[order]
    frame_step = float(np.median(np.diff(sorted_times))) if times.size > 1 else 1.0
    span = sorted_times[-1] - sorted_times[0] + frame_step
    starts = sorted_times[0] + np.arange(num_samples + 1) * span / num_samples
    tolerance = 1e-9 * span  # the sampler's own slack against float rounding of pts * fps
    first_in_slice = np.searchsorted(sorted_times, starts[:-1] - tolerance, side="left")
    on_screen = np.searchsorted(sorted_times, starts[:-1] + tolerance, side="right") - 1
    inside = (first_in_slice < times.size) & (
        sorted_times[np.clip(first_in_slice, 0, times.size - 1)] < starts[1:] - tolerance)
    positions = np.where(inside, first_in_slice, on_screen)
    return order[np.clip(positions, 0, times.size - 1)].astype(np.int64)


def _open_video(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise CorruptVideoError(path, "file not found")
    try:
        container = av.open(str(path), mode="r")
    except av.FFmpegError as error:
        raise CorruptVideoError(path, f"cannot open: {error}") from error
    if not container.streams.video:
        container.close()
        raise CorruptVideoError(path, "no video stream")
    return container


def _decode_timestamps(path: Path) -> np.ndarray:
    times: list[float] = []
    with _open_video(path) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 0.0)
        try:
            for frame in container.decode(stream):
                times.append(_frame_time(frame, len(times), fps))
        except av.FFmpegError as error:
            raise CorruptVideoError(path, f"decoding failed: {error}") from error
    if not times:
        raise CorruptVideoError(path, "no decodable video frames")
    return np.asarray(times, dtype=np.float64)


def _decode_selected(path: Path, wanted: set[int], size: int | None) -> dict[int, np.ndarray]:
    selected: dict[int, np.ndarray] = {}
    last_wanted = max(wanted)
    to_rgb = _rgb_converter(size)
    with _open_video(path) as container:
        try:
            for index, frame in enumerate(container.decode(container.streams.video[0])):
                if index in wanted:
                    selected[index] = to_rgb(frame)
                if index >= last_wanted:
                    break
        except av.FFmpegError as error:
            raise CorruptVideoError(path, f"decoding failed: {error}") from error
    if len(selected) != len(wanted):
        raise CorruptVideoError(path, "second decoding pass returned fewer frames than the first")
    return selected


def _frame_time(frame: av.VideoFrame, position: int, fps: float) -> float:
    # Some containers leave pts unset; fall back to the nominal rate.
    if frame.time is not None:
        return float(frame.time)
    return position / fps if fps > 0 else float(position)


def _full_size_rgb(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="rgb24")


def _rgb_converter(size: int | None) -> Callable[[av.VideoFrame], np.ndarray]:
    """Full-size RGB, or the serving path at size x size (one JPEG encoder per clip)."""
    return _full_size_rgb if size is None else ServingFrames(size)
