"""Cameras into Kafka against the real broker and the real RTSP server."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infra.rtsp.publisher import FeedPublisher
from infra.rtsp.server import RtspServer
from streams.cameras.adapter import CameraAdapter
from streams.cameras.config import CameraConfig, ResilienceSettings, SiteConfig
from streams.codec import decode_jpeg
from streams.schemas import FrameHeaders
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all, free_port, start_rtsp_server

pytestmark = pytest.mark.integration

FAST_RESILIENCE = ResilienceSettings(backoff_initial_s=0.2, backoff_max_s=1.0, open_timeout_s=3.0,
                                     stall_timeout_s=3.0)


def frames_topic(settings: StreamsSettings) -> str:
    return topic_name(Topic.FRAMES, SITE, settings.kafka.topic_prefix)


def status_records(settings: StreamsSettings) -> list[dict[str, object]]:
    topic = topic_name(Topic.CAMERA_STATUS, SITE, settings.kafka.topic_prefix)
    return [json.loads(record.value()) for record in consume_all(settings, topic, idle_s=2.0)]


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def test_rtsp_frames_arrive_in_order_with_headers(
    streams_settings: StreamsSettings, rtsp_server: RtspServer, publish: Callable[..., FeedPublisher]
) -> None:
    camera = publish(f"{SITE}/order")
    site = SiteConfig(site=SITE, cameras=[CameraConfig(id="cam-order", url=camera.url)], resilience=FAST_RESILIENCE)
    stats = CameraAdapter(site, streams_settings).run(duration_s=5.0)["cam-order"]

    records = consume_all(streams_settings, frames_topic(streams_settings))
    assert stats.published >= 20, stats
    assert len(records) == stats.published  # every acknowledged frame is in Kafka, none twice
    headers = [FrameHeaders.from_headers(record.headers()) for record in records]
    assert {record.key() for record in records} == {b"cam-order"}
    assert all(h.site == SITE and h.camera == "cam-order" and (h.width, h.height) == (224, 224) for h in headers)
    seqs = [h.seq for h in headers]
    assert seqs == sorted(set(seqs)), "sequence numbers must strictly increase"
    assert seqs[-1] - seqs[0] + 1 == len(seqs), "a healthy stream has no gaps"
    captures = [h.capture_time for h in headers]
    rate = (len(captures) - 1) / (captures[-1] - captures[0])
    assert 7.0 <= rate <= 8.5, f"sampled at {rate:.2f} fps instead of 8"
    assert all(h.ingest_time >= h.capture_time - 0.5 for h in headers)
    assert decode_jpeg(records[0].value()).shape == (224, 224, 3)


def test_kcat_reads_the_frames_the_adapter_wrote(
    streams_settings: StreamsSettings, publish: Callable[..., FeedPublisher]
) -> None:
    assert shutil.which("kcat"), "kcat (Debian package) is installed by `make test`"
    camera = publish(f"{SITE}/kcat")
    site = SiteConfig(site=SITE, cameras=[CameraConfig(id="cam-kcat", url=camera.url)], resilience=FAST_RESILIENCE)
    stats = CameraAdapter(site, streams_settings).run(duration_s=3.0)["cam-kcat"]

    result = subprocess.run(
        ["kcat", "-C", "-b", streams_settings.kafka.bootstrap_servers, "-t", frames_topic(streams_settings),
         "-e", "-q", "-f", "%k %S %h\n"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == stats.published > 0
    key, size, headers = lines[0].split(" ", 2)
    assert key == "cam-kcat" and int(size) > 1000
    assert f"site={SITE}" in headers and "encoding=jpeg" in headers and "seq=" in headers


def test_two_cameras_at_once(streams_settings: StreamsSettings, publish: Callable[..., FeedPublisher]) -> None:
    cameras = [publish(f"{SITE}/two-{index}") for index in range(2)]
    site = SiteConfig(
        site=SITE,
        cameras=[CameraConfig(id=f"cam-{index}", url=camera.url) for index, camera in enumerate(cameras)],
        resilience=FAST_RESILIENCE,
    )
    stats = CameraAdapter(site, streams_settings).run(duration_s=5.0)

    records = consume_all(streams_settings, frames_topic(streams_settings))
    for camera_id in ("cam-0", "cam-1"):
        own = [FrameHeaders.from_headers(r.headers()) for r in records if r.key() == camera_id.encode()]
        assert len(own) == stats[camera_id].published >= 15
        assert [h.seq for h in own] == sorted({h.seq for h in own})


def test_adapter_resumes_after_rtsp_server_restart_and_counts_the_gap(
    streams_settings: StreamsSettings, tmp_path: Path, feed_file: Path
) -> None:
    server = start_rtsp_server(tmp_path / "rtsp")  # its own server: the session's keeps serving other tests
    publisher = FeedPublisher(server.settings, f"{SITE}/restart", feed_file)
    publisher.start()
    site = SiteConfig(site=SITE, cameras=[CameraConfig(id="cam-r", url=publisher.url)], resilience=FAST_RESILIENCE)
    adapter = CameraAdapter(site, streams_settings)
    try:
        adapter.start()
        wait_for(lambda: adapter.stats()["cam-r"].published >= 10, 20, "frames before the restart")
        server.kill()
        publisher.stop()
        wait_for(lambda: adapter.stats()["cam-r"].state == "reconnecting", 15, "the outage to be noticed")
        time.sleep(1.5)  # the outage lasts long enough to lose frames
        published_during_outage = adapter.stats()["cam-r"].published
        server.start()
        publisher.start()
        wait_for(lambda: adapter.stats()["cam-r"].published >= published_during_outage + 10, 30, "frames again")
    finally:
        adapter.stop()
        publisher.stop()
        server.stop()

    stats = adapter.stats()["cam-r"]
    assert stats.reconnects >= 1 and stats.gaps >= 8, stats  # >= 1.5 s at 8 fps lost, and counted
    headers = [FrameHeaders.from_headers(r.headers()) for r in consume_all(streams_settings, frames_topic(
        streams_settings))]
    assert len(headers) == stats.published
    steps = [b.seq - a.seq for a, b in itertools.pairwise(headers)]
    assert all(step >= 1 for step in steps) and max(steps) >= 9, "the outage is a visible gap in seq"
    states = [s["state"] for s in status_records(streams_settings) if s["camera"] == "cam-r"]
    transitions = [state for index, state in enumerate(states) if index == 0 or states[index - 1] != state]
    assert transitions == ["up", "reconnecting", "up", "down"], states


@pytest.fixture
def silent_tcp_server() -> Iterator[int]:
    """Accepts connections and never says a word: a camera whose socket stays open but delivers nothing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_bad_sources_get_clear_reasons_and_do_not_touch_good_cameras(
    streams_settings: StreamsSettings, tmp_path: Path, feed_file: Path, silent_tcp_server: int
) -> None:
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(feed_file.read_bytes()[: feed_file.stat().st_size // 3])
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(bytes(range(256)) * 64)
    not_video = tmp_path / "notes.txt"
    not_video.write_text("this is not a video\n" * 50)
    refused_port = silent_tcp_server + 1 if silent_tcp_server < 65000 else silent_tcp_server - 1
    cameras = [
        CameraConfig(id="good", kind="file", url=str(feed_file), realtime=False),
        CameraConfig(id="truncated", kind="file", url=str(truncated), realtime=False),
        CameraConfig(id="garbage", kind="file", url=str(garbage)),
        CameraConfig(id="text", kind="file", url=str(not_video)),
        CameraConfig(id="missing", kind="file", url=str(tmp_path / "nowhere.mp4")),
        CameraConfig(id="refused", url=f"rtsp://127.0.0.1:{refused_port}/cam"),
        CameraConfig(id="silent", url=f"rtsp://127.0.0.1:{silent_tcp_server}/cam"),
    ]
    site = SiteConfig(site=SITE, cameras=cameras, resilience=FAST_RESILIENCE)
    stats = CameraAdapter(site, streams_settings).run(duration_s=8.0)

    # 5.96 s of frames cover 48 or 49 slots of 1/8 s, depending on where the capture-time grid falls.
    assert stats["good"].published in (48, 49) and stats["good"].reason == "end of recording"
    for camera_id in ("garbage", "text", "missing", "refused", "silent"):
        assert stats[camera_id].published == 0 and stats[camera_id].reconnects >= 1, stats[camera_id]
    reasons = {s["camera"]: s["reason"] for s in status_records(streams_settings) if s["state"] == "reconnecting"}
    assert "cannot open" in reasons["garbage"] and "Invalid data" in reasons["garbage"]
    assert "no video stream" in reasons["text"]
    assert "no such file" in reasons["missing"]
    assert "Connection refused" in reasons["refused"]
    assert "no answer within 3 s" in reasons["silent"]
    # A truncated recording plays what it has, then ends or is retried; it never crashes the adapter.
    assert 0 < stats["truncated"].published < stats["good"].published


def test_a_stalled_stream_is_detected_and_resumed(
    streams_settings: StreamsSettings, publish: Callable[..., FeedPublisher]
) -> None:
    """The publisher freezes (SIGSTOP): the RTSP connection stays open but no frame arrives."""
    camera = publish(f"{SITE}/stall")
    site = SiteConfig(site=SITE, cameras=[CameraConfig(id="cam-s", url=camera.url)], resilience=FAST_RESILIENCE)
    adapter = CameraAdapter(site, streams_settings)
    pid = camera.pid
    assert pid is not None
    try:
        adapter.start()
        wait_for(lambda: adapter.stats()["cam-s"].published >= 8, 20, "frames before the stall")
        os.kill(pid, signal.SIGSTOP)
        wait_for(lambda: adapter.stats()["cam-s"].state == "reconnecting", 15, "the stall to be detected")
        stalled_reason = adapter.stats()["cam-s"].reason
        os.kill(pid, signal.SIGCONT)
    finally:
        os.kill(pid, signal.SIGCONT)
        adapter.stop()
    assert stalled_reason.startswith("stalled"), stalled_reason


def test_cameras_run_command_serves_metrics_and_stops_cleanly_on_sigterm(
    streams_settings: StreamsSettings, publish: Callable[..., FeedPublisher], tmp_path: Path
) -> None:
    camera = publish(f"{SITE}/cli")
    config = tmp_path / "cameras.yaml"
    config.write_text(f"site: {SITE}\ncameras:\n  - {{id: cam-cli, kind: rtsp, url: '{camera.url}'}}\n")
    metrics_port = free_port()
    env = {
        **os.environ,
        "ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS": streams_settings.kafka.bootstrap_servers,
        "ACTIONSTREAM_KAFKA__TOPIC_PREFIX": streams_settings.kafka.topic_prefix,
        "ACTIONSTREAM_METRICS_PORT": str(metrics_port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "actionstream", "cameras", "run", "--config", str(config), "--no-start-broker",
         "--report-every", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        def published() -> float:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).read().decode()
            except OSError:
                return 0.0
            for line in body.splitlines():
                if line.startswith("actionstream_camera_frames_published_total{") and 'camera="cam-cli"' in line:
                    return float(line.rsplit(" ", 1)[1])
            return 0.0

        wait_for(lambda: published() >= 10, 30, "published frames in the Prometheus metrics")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "cam-cli" in output and "cameras=1" in output
    records = consume_all(streams_settings, frames_topic(streams_settings))
    assert len(records) >= 10
