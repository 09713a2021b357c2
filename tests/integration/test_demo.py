"""`actionstream demo` end to end, on the session's broker and RTSP server (which it must leave running)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.kafka.broker import KafkaBroker
from infra.rtsp.server import RtspServer
from streams.settings import KafkaSettings, StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import consume_all

pytestmark = pytest.mark.integration


def test_demo_streams_synthetic_rtsp_cameras_into_kafka(
    broker: KafkaBroker, rtsp_server: RtspServer, tmp_path: Path
) -> None:
    prefix = "demo-test."
    env = {
        **os.environ,
        "ACTIONSTREAM_BROKER_PORT": str(broker.settings.port),
        "ACTIONSTREAM_BROKER_STATE_DIR": str(broker.state_dir),
        "ACTIONSTREAM_RTSP_PORT": str(rtsp_server.settings.port),
        "ACTIONSTREAM_RTSP_STATE_DIR": str(rtsp_server.state_dir),
        "ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS": broker.settings.bootstrap_servers,
        "ACTIONSTREAM_KAFKA__TOPIC_PREFIX": prefix,
    }
    result = subprocess.run(
        [sys.executable, "-m", "actionstream", "demo", "--cameras", "2", "--seconds", "6", "--site", "demo"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "cameras=2" in output and "cam0" in output and "cam1" in output
    assert (tmp_path / "var/data/synthetic/ucfTrainTestlist/classInd.txt").exists()
    # Services it did not start are still up; what it started (the feeds) is gone.
    assert broker.status().running and rtsp_server.status().running
    assert not list((rtsp_server.state_dir).glob("publish-demo_cam*.pid"))
    settings = StreamsSettings(kafka=KafkaSettings(bootstrap_servers=broker.settings.bootstrap_servers,
                                                   topic_prefix=prefix))
    frames = consume_all(settings, topic_name(Topic.FRAMES, "demo", prefix))
    assert {record.key() for record in frames} == {b"cam0", b"cam1"}
    assert len(frames) >= 2 * 20  # two cameras, several seconds at 8 fps
