"""Frame codec: resize + JPEG on the FFmpeg path, and decoding back."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from streams.codec import JpegDecodeError, JpegEncoder, JpegSettings, decode_jpeg


def _frame(width: int = 160, height: int = 120, pts: int | None = 0, seed: int = 0) -> av.VideoFrame:
    # A smooth gradient plus a little noise: JPEG-friendly but not constant.
    rng = np.random.default_rng(seed)
    gradient = np.linspace(0, 200, width, dtype=np.float32)[None, :, None]
    image = np.broadcast_to(gradient, (height, width, 3)) + rng.integers(0, 40, (height, width, 3))
    frame = av.VideoFrame.from_ndarray(image.astype(np.uint8), format="rgb24")
    frame.pts, frame.time_base = pts, Fraction(1, 90_000)
    return frame


def test_encode_resizes_to_the_ingest_size() -> None:
    encoder = JpegEncoder(JpegSettings(width=64, height=48))
    jpeg = encoder.encode(_frame(160, 120))
    assert jpeg[:2] == b"\xff\xd8"  # SOI marker
    decoded = decode_jpeg(jpeg)
    assert decoded.shape == (48, 64, 3)
    assert decoded.dtype == np.uint8


def test_decoded_image_resembles_the_source() -> None:
    source = _frame(64, 48)
    decoded = decode_jpeg(JpegEncoder(JpegSettings(width=64, height=48, quality=2)).encode(source))
    difference = np.abs(decoded.astype(np.int16) - source.to_ndarray(format="rgb24").astype(np.int16))
    assert difference.mean() < 12


def test_encoding_survives_timestamps_going_backwards() -> None:
    # Regression: a reconnect restarts the source's timestamps; the encoder must not reject them.
    encoder = JpegEncoder(JpegSettings(width=32, height=32))
    timestamps = (90_000, 93_000, 0, 3_000, 0, None)
    jpegs = [encoder.encode(_frame(pts=pts, seed=index)) for index, pts in enumerate(timestamps)]
    assert all(decode_jpeg(jpeg).shape == (32, 32, 3) for jpeg in jpegs)


@pytest.mark.parametrize(
    "garbage",
    [b"", b"not a jpeg", b"\xff\xd8\xff" + b"\x00" * 64, np.random.default_rng(0).bytes(2048)],
    ids=["empty", "text", "truncated-header", "random"],
)
def test_decode_garbage_raises(garbage: bytes) -> None:
    with pytest.raises(JpegDecodeError, match="not a JPEG image"):
        decode_jpeg(garbage)


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(JpegDecodeError, ValueError)
