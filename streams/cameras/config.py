"""The cameras file: one site, its cameras, and how hard to try when a camera misbehaves."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, field_validator

from streams.codec import Interpolation

DecoderThreading = Literal["SLICE", "FRAME", "AUTO"]


class ResilienceSettings(BaseModel):
    """Reconnect forever with exponential backoff and jitter; a camera silent this long is stalled."""

    backoff_initial_s: float = Field(0.5, gt=0, description="First reconnect delay.")
    backoff_max_s: float = Field(30.0, gt=0, description="Reconnect delay cap.")
    backoff_multiplier: float = Field(2.0, ge=1.0, description="Delay growth per failed attempt.")
    backoff_jitter: float = Field(0.2, ge=0, le=1, description="Random +- fraction applied to each delay.")
    open_timeout_s: float = Field(5.0, gt=0, description="Give up opening a stream after this long.")
    stall_timeout_s: float = Field(5.0, gt=0, description="No decoded frame for this long: reconnect.")


class CameraConfig(BaseModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Camera id, the Kafka key of its records.")
    kind: str = Field("rtsp", description="Registered camera kind: rtsp, file, usb.")
    url: str = Field(description="rtsp:// URL, file path, or V4L2 device such as /dev/video0.")
    sample_fps: float = Field(8.0, gt=0, description="Frames per second kept, by presentation time.")
    width: int = Field(224, gt=0, description="Ingest width of published frames.")
    height: int = Field(224, gt=0, description="Ingest height of published frames.")
    jpeg_quality: int = Field(3, ge=2, le=31, description="mjpeg qscale (2 best, 31 worst).")
    interpolation: Interpolation = Field("BILINEAR", description="libswscale resize filter.")
    realtime: bool = Field(True, description="File cameras: pace frames to their timestamps like a live feed.")
    loop: bool = Field(False, description="File cameras: start again at the end instead of ending.")
    start_grid_s: float = Field(0.0, ge=0, description="Paced file cameras: the replay starts at the next "
                                "multiple of this many epoch seconds (0: at once), so its windows fall on the "
                                "same feed times every run.")
    skip_nonref: bool = Field(
        True,
        description="Skip decoding non-reference frames while the reference frames alone still reach sample_fps.",
    )
    # One decoder thread per camera by default: an adapter serves many cameras, so cameras are the
    # parallelism, and frame threading costs more in hand-offs than it gains (measured: bench ingest).
    decoder_threading: DecoderThreading = Field(
        "SLICE", description="FFmpeg thread_type: SLICE (per-frame slices, usually one thread), FRAME or AUTO."
    )
    decoder_threads: int = Field(0, ge=0, description="Decoder threads (0: FFmpeg chooses).")


class SiteConfig(BaseModel):
    site: str = Field(pattern=r"^[A-Za-z0-9_-]+$", description="Site name; frames go to frames.<site>.")
    cameras: list[CameraConfig]
    resilience: ResilienceSettings = Field(default_factory=ResilienceSettings)

    @field_validator("cameras")
    @classmethod
    def _unique_ids(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        ids = [camera.id for camera in cameras]
        duplicates = sorted({camera_id for camera_id in ids if ids.count(camera_id) > 1})
        if duplicates:
            raise ValueError(f"duplicate camera ids: {duplicates}")
        return cameras


def load_site_config(path: Path) -> SiteConfig:
    with path.open() as handle:
        return SiteConfig.model_validate(yaml.safe_load(handle))
