"""The frames a model sees in serving, made from any decoded video frame.

In the stream a frame is resized by libswscale and JPEG-encoded by the camera adapter (`JpegEncoder`), then
decoded by stage 1 (`decode_jpeg`). Training, evaluation and drift profiles read clips from video files; they
send every frame through the same two calls here, so resize filter, chroma handling and JPEG artefacts are
the stream's (the JPEG round trip alone changed 2 of 18 offline predictions while training skipped it).
"""

from __future__ import annotations

import av
import numpy as np

from streams.cameras.config import CameraConfig
from streams.codec import JpegEncoder, JpegSettings, decode_jpeg


def camera_jpeg_settings(size: int) -> JpegSettings:
    """The adapter's default resize and JPEG settings (a camera's own defaults) at `size` x `size` pixels."""
    fields = CameraConfig.model_fields
    return JpegSettings(width=size, height=size, quality=fields["jpeg_quality"].default,
                        interpolation=fields["interpolation"].default)


class ServingFrames:
    """Decoded video frames -> RGB uint8 [size, size, 3] exactly as stage 1 decodes them from the adapter's
    records. One instance per clip or camera: the JPEG encoder keeps a timestamp counter (not thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._encoder = JpegEncoder(camera_jpeg_settings(size))

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        # Stage 1 decodes with the encoder input size as target (processors/selector/scoring.py).
        return decode_jpeg(self._encoder.encode(frame), (self.size, self.size))
