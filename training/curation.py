"""Frame curation before training: blurred, badly exposed and near-duplicate frames out, with a report.

Per frame, on the grey image: sharpness = variance of the Laplacian, brightness = mean / 255, and a small
thumbnail for near-duplicate detection against the previous kept frame. Corrupt videos are listed in the
report and skipped.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from training.ucf101 import VideoItem
from training.video import CorruptVideoError, sample_candidate_frames

logger = logging.getLogger(__name__)

DropReason = Literal["underexposed", "overexposed", "blurred", "duplicate"]


class CurationSettings(BaseModel):
    """Thresholds for dropping frames; brightness and differences are fractions of full scale."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # Off by default: low-texture scenes (the synthetic set, plain walls) are smooth in every frame, and an
    # absolute floor would empty whole clips; the clip-relative test catches motion and focus blur.
    min_sharpness: float = Field(0.0, ge=0.0, description="variance of Laplacian (0-255 grey) below = blurred")
    relative_sharpness: float = Field(
        0.25, ge=0.0, le=1.0, description="also blurred below this fraction of the clip's median sharpness"
    )
    min_brightness: float = Field(0.06, ge=0.0, le=1.0, description="mean grey below = underexposed")
    max_brightness: float = Field(0.94, ge=0.0, le=1.0, description="mean grey above = overexposed")
    duplicate_difference: float = Field(
        0.002, ge=0.0, le=1.0, description="thumbnail mean |diff| to the previous kept frame below = duplicate"
    )
    thumbnail_size: int = Field(16, ge=2, description="side of the grey thumbnail for duplicate checks")


@dataclass(frozen=True)
class FrameQuality:
    """Quality measures of each frame of a clip."""

    sharpness: np.ndarray  # [T] variance of Laplacian
    brightness: np.ndarray  # [T] mean grey in [0, 1]
    thumbnails: np.ndarray  # [T, s, s] grey in [0, 1]


@dataclass(frozen=True)
class DroppedFrame:
    """One dropped frame: its index in the clip, why, and the measured value behind the decision."""

    frame: int
    reason: DropReason
    value: float


@dataclass
class CurationReport:
    """What curation saw, kept and dropped (and why), plus the corrupt videos it skipped."""

    settings: dict[str, Any]
    videos_seen: int = 0
    frames_seen: int = 0
    frames_kept: int = 0
    dropped: dict[str, list[DroppedFrame]] = field(default_factory=dict)
    corrupt: list[dict[str, str]] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)  # videos with every frame dropped

    def add_clip(self, video_id: str, num_frames: int, kept: np.ndarray, dropped: list[DroppedFrame]) -> None:
        """Record the outcome for one clip."""
        self.videos_seen += 1
        self.frames_seen += num_frames
        self.frames_kept += int(kept.size)
        if dropped:
            self.dropped[video_id] = dropped
        if kept.size == 0:
            self.emptied.append(video_id)

    def add_corrupt(self, path: Path, reason: str) -> None:
        """Record a video that could not be decoded."""
        self.videos_seen += 1
        self.corrupt.append({"path": str(path), "reason": reason})

    def counts_by_reason(self) -> dict[str, int]:
        """Number of dropped frames per reason."""
        return dict(Counter(frame.reason for frames in self.dropped.values() for frame in frames))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary and details."""
        return {
            "settings": self.settings,
            "videos_seen": self.videos_seen,
            "frames_seen": self.frames_seen,
            "frames_kept": self.frames_kept,
            "dropped_by_reason": self.counts_by_reason(),
            "corrupt_videos": self.corrupt,
            "emptied_videos": self.emptied,
            "dropped": {video: [asdict(frame) for frame in frames] for video, frames in self.dropped.items()},
        }

    def write_json(self, path: Path) -> Path:
        """Write ``to_dict()`` as indented JSON."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path


def to_grey(frames: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of uint8 RGB frames [T, H, W, 3], as float [T, H, W] in 0-255."""
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return frames.astype(np.float32) @ weights


def laplacian_variance(grey: np.ndarray) -> np.ndarray:
    """Variance of the 4-neighbour Laplacian of each grey frame [T, H, W] (valid region only)."""
    laplacian = (
        grey[:, :-2, 1:-1] + grey[:, 2:, 1:-1] + grey[:, 1:-1, :-2] + grey[:, 1:-1, 2:] - 4 * grey[:, 1:-1, 1:-1]
    )
    return laplacian.reshape(len(grey), -1).var(axis=1)


def measure_quality(frames: np.ndarray, thumbnail_size: int = 16) -> FrameQuality:
    """Sharpness, brightness and thumbnails of uint8 RGB frames [T, H, W, 3]."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected RGB frames [T, H, W, 3], got {frames.shape}")
    grey = to_grey(frames)
    thumbnails = np.stack(
        [
            np.asarray(Image.fromarray(image).resize((thumbnail_size, thumbnail_size), Image.Resampling.BOX))
            for image in np.clip(grey, 0, 255).astype(np.uint8)
        ]
    ).astype(np.float32)
    return FrameQuality(
        sharpness=laplacian_variance(grey),
        brightness=grey.reshape(len(grey), -1).mean(axis=1) / 255.0,
        thumbnails=thumbnails / 255.0,
    )


def curate_clip(frames: np.ndarray, settings: CurationSettings) -> tuple[np.ndarray, list[DroppedFrame]]:
    """Kept frame indices (ascending) and the dropped frames with their reasons.

    Checks run in order exposure, blur, duplicate: a dark frame also has a low Laplacian variance, and
    it should be reported as dark. Duplicates compare with the previous kept frame.
    """
    if not settings.enabled:
        return np.arange(len(frames), dtype=np.int64), []
    quality = measure_quality(frames, settings.thumbnail_size)
    sharpness_floor = max(settings.min_sharpness, settings.relative_sharpness * float(np.median(quality.sharpness)))
    kept: list[int] = []
    dropped: list[DroppedFrame] = []
    for index in range(len(frames)):
        brightness = float(quality.brightness[index])
        sharpness = float(quality.sharpness[index])
        if brightness < settings.min_brightness:
            dropped.append(DroppedFrame(index, "underexposed", brightness))
        elif brightness > settings.max_brightness:
            dropped.append(DroppedFrame(index, "overexposed", brightness))
        elif sharpness < sharpness_floor:
            dropped.append(DroppedFrame(index, "blurred", sharpness))
        elif kept and (
            difference := float(np.abs(quality.thumbnails[index] - quality.thumbnails[kept[-1]]).mean())
        ) < settings.duplicate_difference:
            dropped.append(DroppedFrame(index, "duplicate", difference))
        else:
            kept.append(index)
    return np.asarray(kept, dtype=np.int64), dropped


def curate(
    items: Iterable[VideoItem],
    settings: CurationSettings,
    num_candidates: int,
    size: int | None = None,
    progress: bool = True,
) -> tuple[dict[str, np.ndarray], CurationReport]:
    """Curate the ``num_candidates`` candidate frames of each video.

    Returns kept candidate indices per ``video_id`` (corrupt videos are absent) and the report.
    """
    report = CurationReport(settings=settings.model_dump(mode="json"))
    kept_by_video: dict[str, np.ndarray] = {}
    for item in tqdm(list(items), desc="curation", unit="video", disable=not progress):
        try:
            candidates = sample_candidate_frames(item.path, num_candidates, size)
        except CorruptVideoError as error:
            logger.warning("skipping corrupt video %s: %s", error.path, error.reason)
            report.add_corrupt(error.path, error.reason)
            continue
        kept, dropped = curate_clip(candidates.frames, settings)
        kept_by_video[item.video_id] = kept
        report.add_clip(item.video_id, len(candidates.frames), kept, dropped)
    logger.info(
        "curation: %d videos, kept %d of %d frames, dropped %s, %d corrupt",
        report.videos_seen, report.frames_kept, report.frames_seen, report.counts_by_reason(), len(report.corrupt),
    )
    return kept_by_video, report
