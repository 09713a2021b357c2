"""Clip records as stage 2 publishes them: real 224 px JPEGs, random float16 X_i, explicit timestamps."""

from __future__ import annotations

import av
import numpy as np

from models.representation import REPRESENTATION_DIM
from streams.codec import JpegEncoder, JpegSettings
from streams.records import Clip, ClipFrame, FrameRef, clip_id

SELECTOR_VERSION = "selector-test/1"


def make_jpeg(rng: np.random.Generator, size: int = 224) -> bytes:
    image = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    return JpegEncoder(JpegSettings(width=size, height=size)).encode(av.VideoFrame.from_ndarray(image, format="rgb24"))


def make_clip(site: str, camera: str, window_start: float, num_frames: int = 4, budget: int | None = None,
              window_s: float = 4.0, closed_after_s: float = 0.5, feature_dim: int = REPRESENTATION_DIM,
              seed: int = 0, jpeg: bytes | None = None) -> Clip:
    """A clip of `num_frames` frames spread over the window; frame i has score i + 1 unless scores differ by
    seed. Capture -> ingest takes 10 ms, ingest -> scored 20 ms; the clip closes `closed_after_s` after
    the window end."""
    rng = np.random.default_rng(seed)
    image = jpeg if jpeg is not None else make_jpeg(rng)
    step = window_s / num_frames
    frames = [
        ClipFrame(
            seq=index, capture_time=window_start + index * step, ingest_time=window_start + index * step + 0.01,
            scored_time=window_start + index * step + 0.03,
            source=FrameRef(f"frames.{site}", 0, 1000 + index), delta=1.0, gamma=float(index + 1),
            score=float(index + 1), jpeg=image,
            features=rng.standard_normal(feature_dim).astype(np.float16),
        )
        for index in range(num_frames)
    ]
    window_end = window_start + window_s
    return Clip(
        clip_id=clip_id(site, camera, window_start), site=site, camera=camera,
        window_start=window_start, window_end=window_end, frames=frames, candidates=32, expected_candidates=32,
        budget=num_frames if budget is None else budget, shed=False, incomplete=False,
        selector_version=SELECTOR_VERSION, model_version="local:test", closed_time=window_end + closed_after_s,
    )
