"""Frame codec: decoded video frames to compact JPEG records and back.

The fast path stays inside FFmpeg: libswscale resizes the decoder's YUV planes straight to the ingest size
in JPEG's full-range YUV, and FFmpeg's mjpeg encoder compresses them; no RGB array is made on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import av
import numpy as np

Interpolation = Literal["FAST_BILINEAR", "BILINEAR", "AREA", "BICUBIC", "POINT"]


@dataclass(frozen=True)
class JpegSettings:
    width: int = 224
    height: int = 224
    quality: int = 3  # mjpeg qscale: 2 (best) .. 31 (worst); 3 keeps 224 px frames near 8-12 KB
    interpolation: Interpolation = "BILINEAR"


class JpegEncoder:
    """Resizes and JPEG-encodes frames of one camera (not thread-safe: one per camera worker)."""

    def __init__(self, settings: JpegSettings) -> None:
        self.settings = settings
        self._context = av.CodecContext.create("mjpeg", "w")
        self._context.width = settings.width
        self._context.height = settings.height
        self._context.pix_fmt = "yuvj420p"
        self._context.time_base = Fraction(1, 1000)
        self._context.options = {"qmin": str(settings.quality), "qmax": str(settings.quality)}
        self._next_pts = 0

    def encode(self, frame: av.VideoFrame) -> bytes:
        resized = frame.reformat(
            width=self.settings.width,
            height=self.settings.height,
            format="yuvj420p",
            interpolation=self.settings.interpolation,
        )
        # Each JPEG stands alone, but the encoder rejects timestamps that go back (a reconnect restarts
        # the source's), so it gets its own counter.
        resized.pts, resized.time_base = self._next_pts, self._context.time_base
        self._next_pts += 1
        return b"".join(bytes(packet) for packet in self._context.encode(resized))


class JpegDecodeError(ValueError):
    """Bytes that are not a decodable JPEG image."""


def decode_jpeg(data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
    """JPEG bytes to an RGB uint8 array [H, W, 3], resized to `size` (width, height) when given."""
    try:
        context = av.CodecContext.create("mjpeg", "r")
        frames = context.decode(av.Packet(data))
        frames += context.decode(None)
    except av.FFmpegError as error:
        raise JpegDecodeError(f"not a JPEG image: {error}") from None
    if not frames:
        raise JpegDecodeError("not a JPEG image: the decoder produced no frame")
    frame = frames[0]
    if size is not None and (frame.width, frame.height) != size:
        return frame.to_ndarray(format="rgb24", width=size[0], height=size[1], interpolation="BILINEAR")
    return frame.to_ndarray(format="rgb24")
