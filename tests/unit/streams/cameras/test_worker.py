"""The camera worker: its capture-time timeline, its non-reference-frame probe, and a whole worker over a
tiny local recording with a fake producer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from streams.cameras.config import CameraConfig, ResilienceSettings
from streams.cameras.worker import CameraWorker, _NonrefProbe, _Timeline
from streams.codec import decode_jpeg
from streams.schemas import CameraStatus, FrameHeaders


def test_timeline_anchors_on_the_frame_that_arrived_soonest() -> None:
    timeline = _Timeline()
    # RTSP timestamps need not start at zero. The first frames come in a burst after FFmpeg's probe: the
    # anchor settles on the earliest arrival relative to pts, then capture time follows pts.
    assert timeline.capture_time(5.0, now=1_000.9) == 1_000.9
    assert timeline.capture_time(5.5, now=1_000.95) == pytest.approx(1_000.95)  # anchor moves to 1000.45
    assert timeline.capture_time(7.25, now=1_002.75) == pytest.approx(1_002.7)  # 50 ms after capture
    assert timeline.capture_time(8.0, now=1_004.0) == pytest.approx(1_003.45)  # a late arrival moves nothing


def test_a_paced_file_keeps_its_first_anchor() -> None:
    timeline = _Timeline(follow_arrivals=False)
    assert timeline.capture_time(0.0, now=10.0) == 10.0
    assert timeline.capture_time(1.0, now=10.5) == 11.0


def test_timeline_continues_across_loops() -> None:
    timeline = _Timeline(anchor=1_000.0)
    for pts in (0.0, 0.5, 1.0):
        timeline.capture_time(pts, now=2_000.0)

    timeline.next_loop(frame_interval=0.125)

    # The replay restarts its timestamps; capture time carries on one frame after the last one.
    assert timeline.capture_time(0.0, now=2_000.0) == 1_001.125
    assert timeline.capture_time(0.5, now=2_000.0) == 1_001.625
    timeline.next_loop(frame_interval=0.125)
    assert timeline.capture_time(3.0, now=2_000.0) == 1_001.75


def _decisions(probe: _NonrefProbe, fps: float, seconds: float) -> list[bool]:
    results = [probe.observe(k / fps) for k in range(int(fps * seconds))]
    return [result for result in results if result is not None]


def test_nonref_probe_rejects_reference_frames_below_the_sample_rate() -> None:
    assert _decisions(_NonrefProbe(sample_fps=8.0), fps=5.0, seconds=4.0) == [False]


def test_nonref_probe_accepts_reference_frames_above_the_sample_rate() -> None:
    assert _decisions(_NonrefProbe(sample_fps=8.0), fps=30.0, seconds=4.0) == [True]


def test_nonref_probe_is_undecided_before_its_probe_window() -> None:
    probe = _NonrefProbe(sample_fps=8.0)
    assert [probe.observe(k / 30) for k in range(59)] == [None] * 59  # 1.93 s of presentation time
    assert probe.observe(2.0) is True


@pytest.mark.parametrize("start", [0.0, 12_345.678])
def test_nonref_probe_measures_from_its_first_timestamp(start: float) -> None:
    probe = _NonrefProbe(sample_fps=8.0)
    results = [probe.observe(start + k / 5) for k in range(20)]
    assert [result for result in results if result is not None] == [False]


# -- a whole worker over a tiny local recording, with a fake producer (no broker) ---------------------------

CLOCK = 1_000.0  # fixed wall clock: capture times are then exact and deterministic


@dataclass
class _Delivered:
    payload: bytes

    def value(self) -> bytes:
        return self.payload


@dataclass
class _FakeProducer:
    """Acknowledges every record at once; optionally stops the worker after `stop_after` frames."""

    stop_event: threading.Event
    stop_after: int | None = None
    records: list[tuple[str, bytes, bytes | None, list[tuple[str, bytes]]]] = field(default_factory=list)

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        on_delivery: Callable[[Any, Any, float], None] | None = None,
    ) -> None:
        self.records.append((topic, value, key, headers or []))
        if on_delivery is not None:
            on_delivery(_Delivered(value), None, 0.001)
        if self.stop_after is not None and len(self.records) >= self.stop_after:
            self.stop_event.set()

    def flush(self, timeout_s: float = 30.0) -> int:
        return 0  # every record was acknowledged in produce()


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of 64x48 video at 30 fps."""
    path = tmp_path_factory.mktemp("recording") / "cam.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(90):
            image = np.full((48, 64, 3), (index * 2) % 250, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _worker(recording: Path, producer: _FakeProducer, statuses: list[CameraStatus], loop: bool) -> CameraWorker:
    config = CameraConfig(id="cam1", kind="file", url=str(recording), width=32, height=24, realtime=False, loop=loop)
    resilience = ResilienceSettings()
    return CameraWorker(
        "site-a", config, resilience, producer, "frames.site-a",  # type: ignore[arg-type]  # duck-typed fake
        statuses.append, producer.stop_event, clock=lambda: CLOCK,
    )


def test_worker_publishes_a_recording_at_the_sample_rate(recording: Path) -> None:
    producer = _FakeProducer(threading.Event())
    statuses: list[CameraStatus] = []
    worker = _worker(recording, producer, statuses, loop=False)

    worker.run()  # in this thread: a non-looping recording ends by itself

    assert len(producer.records) == 24  # 3 s at 8 fps
    headers = [FrameHeaders.from_headers(record[3]) for record in producer.records]
    assert [h.seq for h in headers] == list(range(8000, 8024))
    assert headers[0].capture_time == CLOCK
    assert all((h.site, h.camera, h.width, h.height) == ("site-a", "cam1", 32, 24) for h in headers)
    assert all(topic == "frames.site-a" and key == b"cam1" for topic, _, key, _ in producer.records)
    assert decode_jpeg(producer.records[0][1]).shape == (24, 32, 3)

    stats = worker.stats()
    assert (stats.decoded, stats.sampled, stats.published, stats.gaps, stats.dropped) == (90, 24, 24, 0, 0)
    assert stats.bytes == sum(len(record[1]) for record in producer.records)
    assert [(s.state, s.reason) for s in statuses] == [("up", "streaming"), ("down", "end of recording")]
    assert statuses[-1].frames_published == 24


def test_looping_recording_continues_sequence_numbers(recording: Path) -> None:
    stop = threading.Event()
    producer = _FakeProducer(stop, stop_after=40)
    statuses: list[CameraStatus] = []
    worker = _worker(recording, producer, statuses, loop=True)

    worker.run()

    seqs = [FrameHeaders.from_headers(record[3]).seq for record in producer.records]
    # More than one pass over the 24-frame recording; frames sampled before the stop are still published.
    assert 40 <= len(seqs) <= 40 + 8
    assert seqs == list(range(8000, 8000 + len(seqs)))  # the replay carries on the capture-time grid
    assert worker.stats().gaps == 0
    assert statuses[-1].state == "down" and statuses[-1].reason == "adapter stopped"
