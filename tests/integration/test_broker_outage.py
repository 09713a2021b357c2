"""The whole pipeline through a broker outage: RTSP cameras -> adapter -> selector worker -> classifier with the
broker stopped and restarted mid-stream. No window is lost or doubled, and each process reports the outage in
a few lines instead of its clients' reconnect chatter."""

from __future__ import annotations

import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from infra.kafka.broker import KafkaBroker
from infra.process import ManagedProcess, tail
from infra.rtsp.publisher import FeedPublisher
from streams.records import Clip
from streams.schemas import ActionEvent
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all, processor_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOP_S = 2.0
OUTAGE_S = 15.0
CAMERAS = ("cam-1", "cam-2")
# Lines a process may write from the broker's stop until it has settled after the restart: the outage report
# (unreachable, a reminder per 10 s, reachable again), the adapter's live lines, a few one-off warnings.
MAX_OUTAGE_LINES = 200


def _wait_until(condition: Callable[[], bool], timeout_s: float, processes: list[ManagedProcess], what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(tail(process.log_file, 25) for process in processes)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(2.0)


def _lines(process: ManagedProcess) -> list[str]:
    return process.log_file.read_text(errors="replace").splitlines()


def test_no_window_lost_or_doubled_and_quiet_logs_across_a_broker_outage(
    streams_settings: StreamsSettings, broker: KafkaBroker, tiny_bundle: Path, tmp_path: Path,
    publish: Callable[..., FeedPublisher], processes: Callable[..., ManagedProcess],
) -> None:
    unique = uuid.uuid4().hex[:8]
    env = processor_env(streams_settings, str(tiny_bundle), ACTIONSTREAM_MODEL__FOLLOW_UPDATES="false",
                        ACTIONSTREAM_MODEL__DOWNLOAD_DIR=str(tmp_path / "serving"),
                        ACTIONSTREAM_CLASSIFIER__GROUP_ID=f"classifier-{unique}",
                        ACTIONSTREAM_CLASSIFIER__TRANSACTIONAL_ID=f"classifier-{unique}")
    publisher = publish(f"{streams_settings.kafka.topic_prefix}cam")
    config = tmp_path / "cameras.yaml"
    config.write_text(yaml.safe_dump({"site": SITE, "cameras": [
        {"id": camera, "kind": "rtsp", "url": publisher.url, "sample_fps": 8.0} for camera in CAMERAS]}))
    selector = processes("selector", ["selector", "run"], env)
    classifier = processes("classifier", ["classifier", "run"], env)
    adapter = processes("cameras", ["cameras", "run", "--config", str(config), "--no-start-broker",
                                    "--report-every", "5"], env)
    workers = [selector, classifier, adapter]
    prefix = streams_settings.kafka.topic_prefix

    def events() -> list[ActionEvent]:
        return [ActionEvent.model_validate_json(record.value())
                for record in consume_all(streams_settings, topic_name(Topic.ACTIONS, SITE, prefix), idle_s=1.5)]

    def cameras_with_actions(after: float = 0.0, windows: int = 1) -> set[str]:
        per_camera = Counter(event.camera for event in events() if event.window_start > after)
        return {camera for camera, count in per_camera.items() if count >= windows}

    _wait_until(lambda: cameras_with_actions(windows=3) == set(CAMERAS), 150, workers, "actions from every camera")
    before = {process.name: len(_lines(process)) for process in workers}
    broker.stop()
    stopped_at = time.time()
    time.sleep(OUTAGE_S)
    broker.start()
    restarted_at = time.time()
    _wait_until(lambda: cameras_with_actions(after=restarted_at) == set(CAMERAS), 120, workers,
                "actions for windows after the restart")
    outage_logs = {process.name: _lines(process)[before[process.name]:] for process in workers}
    adapter.stop()
    clips_topic = topic_name(Topic.CLIPS, prefix=prefix)

    def clip_windows() -> set[tuple[str, float]]:
        return {(clip.camera, clip.window_start)
                for clip in (Clip.from_bytes(record.value()) for record in consume_all(streams_settings, clips_topic))}

    _wait_until(lambda: clip_windows() <= {(event.camera, event.window_start) for event in events()}, 60,
                [selector, classifier], "an action for every clip")

    # Stage 2 may still close the cameras' last windows (idle): those clips may come after the actions read.
    clips_before = clip_windows()
    counts = Counter((event.camera, event.window_start) for event in events())
    assert [window for window, count in counts.items() if count > 1] == [], "windows with more than one action"
    assert clips_before <= set(counts) <= clip_windows()
    for camera in CAMERAS:
        starts = sorted(start for name, start in counts if name == camera)
        gaps = [(earlier, later) for earlier, later in itertools.pairwise(starts)
                if later - earlier != pytest.approx(HOP_S)]
        assert gaps == [], f"{camera}: windows missing between {gaps}"
        assert starts[0] < stopped_at - HOP_S and starts[-1] > restarted_at, "the outage is not inside the stream"
    for name, lines in outage_logs.items():
        assert len(lines) < MAX_OUTAGE_LINES, f"{name} wrote {len(lines)} lines during the outage:\n" + \
            "\n".join(lines[:40])
        text = "\n".join(lines)
        assert "broker unreachable" in text and "broker reachable again" in text, f"{name}:\n{text}"
    assert selector.is_running() and classifier.is_running()
