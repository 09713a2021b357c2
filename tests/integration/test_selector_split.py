"""The selector as two processes against the real broker (`selector run --stage score` and `--stage window`, the
Procfile's layout): frames in real time become clips, each window once and whole, bad frames dead letters, a
stopped camera's windows closed as idle; and a score process SIGKILLed while frames flow and started again loses
no frame of any window."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer

from bench.soak import free_port, worker_metric
from infra.process import ManagedProcess, tail
from streams.deadletter import reason_of
from streams.records import Clip, ScoredFrame, clip_id
from streams.settings import StreamsSettings
from streams.synthetic_frames import FrameStream
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all, processor_env
from tests.support.frames import expected_windows, jpeg_image

pytestmark = pytest.mark.integration

FPS, WINDOW_S, HOP_S = 8.0, 4.0, 2.0
SLOTS = round(WINDOW_S * FPS)


def _windows_with_frames(seqs: list[int]) -> set[float]:
    """Starts of every hop-grid window holding at least 2 of the frames (stage 2 drops one with fewer), the
    ones still open at the camera's last frame included (they close as idle)."""
    counts: dict[float, int] = {}
    for seq in seqs:
        capture = seq / FPS
        for k in range(math.floor((capture - WINDOW_S) / HOP_S) + 1, math.floor(capture / HOP_S) + 1):
            counts[round(k * HOP_S, 6)] = counts.get(round(k * HOP_S, 6), 0) + 1
    return {start for start, frames in counts.items() if frames >= 2}


def _clips(settings: StreamsSettings, wanted: set[str], workers: list[ManagedProcess], timeout_s: float
           ) -> list[Clip]:
    """Every clip record once all `wanted` ids are there; the workers' logs if they do not come."""
    topic = topic_name(Topic.CLIPS, prefix=settings.kafka.topic_prefix)
    deadline = time.monotonic() + timeout_s
    while True:
        clips = [Clip.from_bytes(record.value()) for record in consume_all(settings, topic, idle_s=2.0)]
        missing = wanted - {clip.clip_id for clip in clips}
        if not missing:
            return clips
        if time.monotonic() > deadline:
            logs = "\n".join(tail(worker.log_file, 30) for worker in workers)
            raise AssertionError(f"{len(missing)} of {len(wanted)} windows missing after {timeout_s} s\n{logs}")
        time.sleep(2.0)


def _await_assignment(port: int, topic: str, worker: ManagedProcess, timeout_s: float = 90.0) -> None:
    assigned = 'actionstream_assigned_partitions{topic="' + topic + '"}'
    deadline = time.monotonic() + timeout_s
    while worker_metric(port, assigned) <= 0:
        assert worker.is_running() and time.monotonic() < deadline, tail(worker.log_file, 30)
        time.sleep(0.5)


def test_two_processes_turn_frames_into_each_window_once_and_close_a_stopped_cameras_windows(
    streams_settings: StreamsSettings, tiny_bundle: Path, processes: Callable[..., ManagedProcess]
) -> None:
    kafka = streams_settings.kafka
    frames_topic = topic_name(Topic.FRAMES, SITE, kafka.topic_prefix)
    env = processor_env(streams_settings, str(tiny_bundle), ACTIONSTREAM_STAGE2__IDLE_CLOSE_S="4")
    scorer_port = free_port()
    workers = [processes("scorer", ["selector", "run", "--stage", "score", "--metrics-port", str(scorer_port)], env),
               processes("selector", ["selector", "run", "--stage", "window"], env)]
    _await_assignment(scorer_port, frames_topic, workers[0])
    producer = Producer(kafka.client_config())
    stream = FrameStream(producer, frames_topic, SITE, ["cam-1", "cam-2", "cam-3"], time.time(), FPS)
    for _ in stream.run(10.0):
        pass
    for index in range(6):
        producer.produce(frames_topic, value=b"\x00garbage" if index % 2 else jpeg_image(0)[:200], key=b"bad",
                         headers=[])
    producer.flush(30)

    wanted = {clip_id(SITE, camera, start): (camera, start)
              for camera, seqs in stream.seqs.items() for start in _windows_with_frames(seqs)}
    clips = _clips(streams_settings, set(wanted), workers, timeout_s=120.0)

    assert sorted(clip.clip_id for clip in clips) == sorted(wanted)  # each window once, none other
    closed_idle = {clip_id(SITE, camera, start) for camera, seqs in stream.seqs.items()
                   for start in _windows_with_frames(seqs) - expected_windows(seqs, FPS, WINDOW_S, HOP_S)}
    first_capture = stream.first_slot / FPS
    for clip in clips:
        whole = clip.window_start >= first_capture and clip.clip_id not in closed_idle
        assert not whole or (clip.candidates == SLOTS and not clip.incomplete), clip  # no window closed early
    scored = [ScoredFrame.from_bytes(record.value()) for record in
              consume_all(streams_settings, topic_name(Topic.SCORED_FRAMES, prefix=kafka.topic_prefix))]
    assert sorted((frame.camera, frame.seq) for frame in scored) == sorted(
        (camera, seq) for camera, seqs in stream.seqs.items() for seq in seqs)
    letters = consume_all(streams_settings, topic_name(Topic.DEADLETTER, prefix=kafka.topic_prefix))
    assert len(letters) == 6 and {reason_of(letter.headers())["stage"] for letter in letters} == {"stage1"}
    assert all(worker.is_running() for worker in workers)


def test_a_score_process_killed_while_frames_flow_and_started_again_loses_no_frame_of_any_window(
    streams_settings: StreamsSettings, tiny_bundle: Path, processes: Callable[..., ManagedProcess]
) -> None:
    kafka = streams_settings.kafka
    frames_topic = topic_name(Topic.FRAMES, SITE, kafka.topic_prefix)
    # Idle cameras keep their windows open here: the stream's tail windows are not part of the expectation.
    env = processor_env(streams_settings, str(tiny_bundle), ACTIONSTREAM_STAGE2__IDLE_CLOSE_S="600")
    ports = [free_port(), free_port()]
    selector = processes("selector", ["selector", "run", "--stage", "window"], env)
    first = processes("scorer-1", ["selector", "run", "--stage", "score", "--metrics-port", str(ports[0])], env)
    _await_assignment(ports[0], frames_topic, first)
    stream = FrameStream(Producer({**kafka.client_config(), "linger.ms": 5}), frames_topic, SITE,
                         [f"cam-{index}" for index in range(4)], time.time(), FPS)
    for _ in stream.run(6.0):
        pass
    stream.burst(3.0)
    time.sleep(0.3)
    first.kill()  # SIGKILL mid-backlog: its batch in hand neither acknowledged nor committed
    for _ in stream.run(3.0):
        pass
    second = processes("scorer-2", ["selector", "run", "--stage", "score", "--metrics-port", str(ports[1])], env)
    for _ in stream.run(8.0):
        pass

    wanted = {clip_id(SITE, camera, start) for camera, seqs in stream.seqs.items()
              for start in expected_windows(seqs, FPS, WINDOW_S, HOP_S)}
    clips = _clips(streams_settings, wanted, [first, second, selector], timeout_s=150.0)

    assert sorted(clip.clip_id for clip in clips) == sorted(wanted)  # each window once: replays dropped
    first_capture = stream.first_slot / FPS
    assert all(clip.candidates == SLOTS and not clip.incomplete for clip in clips
               if clip.window_start >= first_capture), [clip for clip in clips if clip.incomplete]
    assert selector.is_running() and second.is_running()
