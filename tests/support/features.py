"""Scored-frame and window-outcome records with chosen stats and explicit times (feature sink tests)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from streams.records import FrameRef, ScoredFrame, clip_id
from streams.schemas import HopLatency, LabelScore, WindowOutcome


def flat_jpeg(grey: int, size: int = 224) -> bytes:
    """A uniform grey frame: its luma is `grey` everywhere (contrast 0), up to JPEG rounding."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), (grey, grey, grey)).save(out, format="JPEG", quality=95)
    return out.getvalue()


def make_scored_frame(site: str, camera: str, capture_time: float, *, seq: int = 0, delta: float = 0.5,
                      brightness: float = 100.0, sharpness: float = 50.0, jpeg: bytes | None = None,
                      features: np.ndarray | None = None, model_version: str = "local:test") -> ScoredFrame:
    return ScoredFrame(
        site=site, camera=camera, seq=seq, capture_time=capture_time, ingest_time=capture_time + 0.01,
        scored_time=capture_time + 0.03, source=FrameRef(f"frames.{site}", 0, seq), delta=delta,
        brightness=brightness, sharpness=sharpness, model_version=model_version,
        jpeg=flat_jpeg(int(brightness)) if jpeg is None else jpeg,
        features=np.zeros(8, dtype=np.float16) if features is None else features,
    )


def make_outcome(site: str, camera: str, window_start: float, *, label: str = "wave", confidence: float = 0.8,
                 action: bool = True, shed: bool = False, incomplete: bool = False,
                 window_s: float = 4.0) -> WindowOutcome:
    latency = HopLatency(ingest=0, score=0, select=0, classify=0, processing=0, end_to_end=0)
    return WindowOutcome(
        outcome="action" if action else "idle", event_id=clip_id(site, camera, window_start), site=site,
        camera=camera, window_start=window_start, window_end=window_start + window_s, label=label,
        confidence=confidence, top_k=[LabelScore(label=label, confidence=confidence)], frames=[], candidates=32,
        budget=4, shed=shed, incomplete=incomplete, selector_version="selector-test/1", model_version="m/1",
        published_at=window_start + window_s + 0.5, latency=latency,
    )
