"""The selector app (stage 1, stage 2 on Faust) against the real broker: windows -> clips with deterministic ids,
bad frames to the dead-letter topic, two workers sharing the cameras, one killed with SIGKILL while frames
flow, a stopped camera's last windows closed after the idle timeout."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer

from bench.soak import KillScenario, run_kill_scenario
from infra.process import ManagedProcess, tail
from streams.deadletter import reason_of
from streams.records import Clip, ScoredFrame, clip_id
from streams.schemas import FrameHeaders
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all, processor_env
from tests.support.frames import expected_windows, jpeg_image, produce_frames

pytestmark = pytest.mark.integration

FPS, WINDOW_S, HOP_S = 8.0, 4.0, 2.0


def _topic(settings: StreamsSettings, topic: Topic) -> str:
    return topic_name(topic, SITE, settings.kafka.topic_prefix)


def _expected_ids(cameras: dict[str, list[int]]) -> dict[str, tuple[str, float]]:
    """Clip id -> (camera, window start) of every window the frames close."""
    return {clip_id(SITE, camera, start): (camera, start)
            for camera, seqs in cameras.items() for start in expected_windows(seqs, FPS, WINDOW_S, HOP_S)}


def _wait_for_clips(settings: StreamsSettings, wanted: dict[str, tuple[str, float]], workers: list[ManagedProcess],
                    timeout_s: float = 150.0) -> list[Clip]:
    deadline = time.monotonic() + timeout_s
    while True:
        clips = [Clip.from_bytes(record.value()) for record in consume_all(settings, _topic(settings, Topic.CLIPS),
                                                                           idle_s=2.0)]
        if set(wanted) <= {clip.clip_id for clip in clips}:
            return clips
        if time.monotonic() > deadline:
            logs = "\n".join(tail(worker.log_file, 30) for worker in workers)
            missing = sorted(wanted[key] for key in set(wanted) - {clip.clip_id for clip in clips})
            cameras = {camera for camera, _ in missing}
            present = sorted((clip.camera, clip.window_start, clip.candidates) for clip in clips
                             if clip.camera in cameras)
            scored: dict[str, set[int]] = {camera: set() for camera in cameras}
            for record in consume_all(settings, topic_name(Topic.SCORED_FRAMES, prefix=settings.kafka.topic_prefix)):
                frame = ScoredFrame.from_bytes(record.value())
                if frame.camera in cameras:
                    scored[frame.camera].add(frame.seq)
            raise AssertionError(f"{len(missing)} of {len(wanted)} windows missing after {timeout_s} s: "
                                 f"{missing}; present: {present}; distinct scored frames: "
                                 f"{ {camera: len(seqs) for camera, seqs in scored.items()} }\n{logs}")
        time.sleep(3.0)


def _garbage_frames(producer: Producer, topic: str, count: int) -> None:
    good = FrameHeaders(site=SITE, camera="cam-bad", seq=1, capture_time=1.0, ingest_time=1.0, width=224, height=224)
    cases: list[tuple[bytes, list[tuple[str, bytes]]]] = [
        (b"\x00garbage" * 10, good.to_headers()),  # not a JPEG
        (jpeg_image(0), []),  # no headers at all
        (jpeg_image(0), [(name, b"x" if name == "seq" else value) for name, value in good.to_headers()]),
        (jpeg_image(0)[: 200], good.to_headers()),  # truncated JPEG
        (b"", good.to_headers()),  # empty
        (b"\xff" * (3 * 1024 * 1024), good.to_headers()),  # oversized
    ]
    for index in range(count):
        value, headers = cases[index % len(cases)]
        producer.produce(topic, value=value, key=b"garbage", headers=headers)
    producer.flush(30)


# Both stage-1 engines (stage1.engine): the other tests run the default one.
@pytest.mark.parametrize("engine", ["batched", "faust"])
def test_frames_become_clips_and_bad_frames_become_dead_letters(
    streams_settings: StreamsSettings, tiny_bundle: Path, processes: Callable[..., ManagedProcess], engine: str
) -> None:
    producer = Producer({**streams_settings.kafka.client_config(), "message.max.bytes": 8 * 1024 * 1024})
    frames_topic = _topic(streams_settings, Topic.FRAMES)
    start = time.time()
    cameras = {camera: produce_frames(producer, frames_topic, SITE, camera, start, 12.0, FPS, skip=skip)
               for camera, skip in (("cam-1", frozenset()), ("cam-2", frozenset(range(
                   round(start * FPS) + 40, round(start * FPS) + 52))))}
    _garbage_frames(producer, frames_topic, 120)
    # Idle cameras keep their windows open here: the stream's tail windows are not part of the expectation.
    env = processor_env(streams_settings, str(tiny_bundle), ACTIONSTREAM_STAGE2__IDLE_CLOSE_S="600",
                        ACTIONSTREAM_STAGE1__ENGINE=engine)
    worker = processes("selector", ["selector", "run"], env)

    wanted = _expected_ids(cameras)
    clips = _wait_for_clips(streams_settings, wanted, [worker])

    assert {clip.clip_id for clip in clips} == set(wanted)
    for clip in clips:
        assert [frame.capture_time for frame in clip.frames] == sorted(frame.capture_time for frame in clip.frames)
        assert all(clip.window_start <= frame.capture_time < clip.window_end for frame in clip.frames)
        assert len(clip.frames) == 2 and clip.candidates <= 32
    # cam-2 lost 1.5 s of frames: the windows over that gap say so, cam-1's full windows do not.
    gap_start, gap_end = (round(start * FPS) + 40) / FPS, (round(start * FPS) + 52) / FPS
    gap_windows = [clip for clip in clips if clip.camera == "cam-2"
                   and clip.window_start < gap_end and gap_start < clip.window_end]
    assert gap_windows and all(clip.incomplete and clip.candidates < 32 for clip in gap_windows)
    assert any(not clip.incomplete for clip in clips if clip.camera == "cam-1")

    letters = consume_all(streams_settings, topic_name(Topic.DEADLETTER, prefix=streams_settings.kafka.topic_prefix))
    assert len(letters) == 120
    reasons = [reason_of(letter.headers()) for letter in letters]
    assert all(reason["stage"] == "stage1" and reason["topic"] == frames_topic for reason in reasons)
    assert {reason["reason"].split(":")[0] for reason in reasons} >= {
        "not a JPEG image", "frame header 'schema' is missing", "malformed frame header 'seq'", "empty frame record",
        "oversized frame record"}
    assert worker.is_running()


def test_a_worker_killed_while_frames_flow_loses_no_frame_of_any_window(
    streams_settings: StreamsSettings, tiny_bundle: Path, processes: Callable[..., ManagedProcess]
) -> None:
    # Idle cameras keep their windows open here: the stream's tail windows are not part of the expectation.
    env = processor_env(streams_settings, str(tiny_bundle), ACTIONSTREAM_STAGE2__IDLE_CLOSE_S="600")

    def start_worker(name: str, args: list[str]) -> ManagedProcess:
        return processes(name, ["selector", "run", *args], env)

    run = run_kill_scenario(streams_settings.kafka, SITE, start_worker, KillScenario(fps=FPS, window_s=WINDOW_S,
                                                                                     hop_s=HOP_S))

    assert run.victim_selected  # the kill took open windows with it, not an idle worker
    assert run.windows_expected >= 8 * 9
    # Every window, nothing else (replays reuse the id), each with all its frames: the frames published while
    # the group rebalanced are in their windows, and the windows open at the kill resumed from the changelog.
    assert (run.lost, run.unexpected, run.incomplete_by_kill, run.unscored) == ([], [], [], 0), run.logs


def test_a_camera_that_stops_has_its_open_windows_closed_incomplete_after_the_idle_timeout(
    streams_settings: StreamsSettings, tiny_bundle: Path, processes: Callable[..., ManagedProcess]
) -> None:
    idle_close_s = 3.0
    env = processor_env(streams_settings, str(tiny_bundle), ACTIONSTREAM_STAGE2__IDLE_CLOSE_S=str(idle_close_s))
    worker = processes("selector", ["selector", "run"], env)
    producer = Producer(streams_settings.kafka.client_config())
    start = time.time()
    seqs = produce_frames(producer, _topic(streams_settings, Topic.FRAMES), SITE, "cam-1", start, 9.0, FPS)
    last = max(seqs) / FPS
    # The windows still open when the camera stops: every grid window holding its last frame (and, as stage 2
    # drops a window with fewer, at least two frames).
    open_starts = {round(k * HOP_S, 6) for k in range(math.floor((last - WINDOW_S) / HOP_S) + 1,
                                                         math.floor(last / HOP_S) + 1)
                   if sum(k * HOP_S <= seq / FPS < k * HOP_S + WINDOW_S for seq in seqs) >= 2}
    wanted = _expected_ids({"cam-1": seqs})
    idle = {clip_id(SITE, "cam-1", start): ("cam-1", start) for start in open_starts}
    clips = _wait_for_clips(streams_settings, {**wanted, **idle}, [worker], timeout_s=90.0)

    assert {clip.clip_id for clip in clips} == set(wanted) | set(idle)
    closed_late = [clip for clip in clips if clip.clip_id in idle]
    # A window whose last slot holds the camera's last frame is whole (closed by idleness all the same).
    assert closed_late and any(clip.incomplete for clip in closed_late)
    assert all(clip.incomplete == (clip.candidates < 32) for clip in closed_late)
    assert worker.is_running()
