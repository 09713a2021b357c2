"""Frame records as a camera adapter publishes them, with exact event times: windows become predictable."""

from __future__ import annotations

import io
import math

import numpy as np
from confluent_kafka import Producer
from PIL import Image

from streams.schemas import FrameHeaders


def jpeg_image(seed: int, size: int = 224) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size // 8, size // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def produce_frames(producer: Producer, topic: str, site: str, camera: str, start: float, seconds: float,
                   fps: float, skip: frozenset[int] = frozenset()) -> list[int]:
    """Frames of one camera at slots floor(start*fps) ... for `seconds`; returns the seqs produced."""
    first = math.floor(start * fps)
    images = [jpeg_image(index) for index in range(8)]
    produced = []
    for seq in range(first, first + round(seconds * fps)):
        if seq in skip:
            continue
        capture = seq / fps
        headers = FrameHeaders(site=site, camera=camera, seq=seq, capture_time=capture, ingest_time=capture + 0.01,
                               width=224, height=224)
        producer.produce(topic, value=images[seq % len(images)], key=f"{site}/{camera}".encode(),
                         headers=headers.to_headers())
        produced.append(seq)
    producer.flush(30)
    return produced


def expected_windows(seqs: list[int], fps: float, window_s: float, hop_s: float) -> set[float]:
    """Starts of the windows that close: every hop-grid window holding a frame and ending by the last frame."""
    last = max(seqs) / fps
    starts = set()
    for seq in seqs:
        time = seq / fps
        k = math.floor((time - window_s) / hop_s) + 1
        while k * hop_s <= time:
            if k * hop_s + window_s <= last:
                starts.add(round(k * hop_s, 6))
            k += 1
    return starts
