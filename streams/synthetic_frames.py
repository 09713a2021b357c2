"""Synthetic frame records as a camera adapter publishes them, with exact event times, so the windows they
make are predictable: for integration tests and the soak bench."""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterator

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


def expected_windows(seqs: list[int], fps: float, window_s: float, hop_s: float, min_frames: int = 2) -> set[float]:
    """Starts of the windows that close with a clip: every hop-grid window holding at least `min_frames` frames
    (stage 2 drops one with fewer) whose last slot is at or before the last frame's (it closes with that frame)."""
    last = (max(seqs) + 1) / fps  # the end of the last frame's slot
    held: dict[float, int] = {}
    for seq in seqs:
        time = seq / fps
        k = math.floor((time - window_s) / hop_s) + 1
        while k * hop_s <= time:
            if k * hop_s + window_s <= last + 1e-9:
                start = round(k * hop_s, 6)
                held[start] = held.get(start, 0) + 1
            k += 1
    return {start for start, frames in held.items() if frames >= min_frames}


class FrameStream:
    """Cameras publishing in real time: every `step_s` of wall time, each camera's frames of that step (event
    time on the slot grid from `start`). Iterating yields the stream time published so far, so a caller can act
    (kill a worker) at an exact point while frames keep flowing."""

    def __init__(self, producer: Producer, topic: str, site: str, cameras: list[str], start: float, fps: float,
                 step_s: float = 0.25) -> None:
        self.producer, self.topic, self.site, self.cameras = producer, topic, site, cameras
        self.first_slot = math.floor(start * fps)
        self.fps, self.step_slots = fps, max(1, round(step_s * fps))
        self.seqs: dict[str, list[int]] = {camera: [] for camera in cameras}
        self.published = 0  # slots published per camera
        self._images = [jpeg_image(index) for index in range(8)]

    def run(self, seconds: float, paced: bool = True) -> Iterator[float]:
        """Publish `seconds` more of stream, paced by the wall clock; yields the stream seconds published."""
        end = self.published + round(seconds * self.fps)
        began, begin_slot = time.monotonic(), self.published
        while self.published < end:
            count = min(self.step_slots, end - self.published)
            for camera in self.cameras:
                for seq in range(self.first_slot + self.published, self.first_slot + self.published + count):
                    self._produce(camera, seq)
            self.producer.flush(30)
            self.published += count
            yield self.published / self.fps
            if paced:
                time.sleep(max(0.0, began + (self.published - begin_slot) / self.fps - time.monotonic()))

    def burst(self, seconds: float) -> None:
        """Publish `seconds` more of stream at once, as a camera catching up after a stall would."""
        for _ in self.run(seconds, paced=False):
            pass

    def _produce(self, camera: str, seq: int) -> None:
        capture = seq / self.fps
        headers = FrameHeaders(site=self.site, camera=camera, seq=seq, capture_time=capture,
                               ingest_time=capture + 0.01, width=224, height=224)
        self.producer.produce(self.topic, value=self._images[seq % len(self._images)],
                              key=f"{self.site}/{camera}".encode(), headers=headers.to_headers())
        self.seqs[camera].append(seq)
