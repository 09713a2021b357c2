"""Camera URLs: each kind refuses schemes it does not support, and credentials never reach logs or status
records."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actionstream.cli import app
from streams.cameras.config import CameraConfig, ResilienceSettings
from streams.cameras.registry import CameraError, check_camera
from streams.cameras.urls import mask_credentials, url_scheme
from streams.cameras.worker import CameraWorker
from streams.schemas import CameraStatus


@pytest.mark.parametrize("url, scheme", [
    ("rtsp://cam.local/stream", "rtsp"), ("RTSPS://cam.local/s", "rtsps"), ("/data/replay.mp4", ""),
    ("./odd:name.mp4", ""), ("concat:a.mp4|/etc/passwd", "concat"), ("subfile,,start,0,end,9,,:x.ts", "subfile"),
    ("http://169.254.169.254/latest", "http"), ("/dev/video0", ""),
])
def test_the_scheme_is_read_the_way_ffmpeg_reads_a_protocol(url: str, scheme: str) -> None:
    assert url_scheme(url) == scheme


@pytest.mark.parametrize("kind, url", [
    ("rtsp", "rtsp://10.0.0.5:554/stream1"), ("rtsp", "rtsps://user:pw@cam/s"), ("file", "/data/replay.mp4"),
    ("file", "file:/data/replay.mp4"), ("usb", "/dev/video0"),
])
def test_a_kind_accepts_its_own_schemes(kind: str, url: str) -> None:
    check_camera(CameraConfig(id="c", kind=kind, url=url))


@pytest.mark.parametrize("kind, url, says", [
    ("rtsp", "http://user:secret@10.0.0.5/stream", "rtsp cameras take rtsp:// URLs or rtsps:// URLs, not a http:"),
    ("rtsp", "/data/replay.mp4", "not a path"),
    ("file", "concat:/data/a.mp4|/etc/shadow", "file cameras take a path or file:// URLs, not a concat: URL"),
    ("file", "tcp://10.0.0.9:9000", "not a tcp: URL"),
    ("usb", "rtsp://cam/s", "usb cameras take a path, not a rtsp: URL"),
])
def test_a_url_outside_the_kinds_schemes_is_refused_with_a_clear_error(kind: str, url: str, says: str) -> None:
    with pytest.raises(CameraError, match=says) as refused:
        check_camera(CameraConfig(id="door", kind=kind, url=url))
    assert "secret" not in str(refused.value) and str(refused.value).startswith("camera door:")


@pytest.mark.parametrize("text, masked", [
    ("rtsp://admin:hunter2@10.0.0.5:554/s", "rtsp://admin:***@10.0.0.5:554/s"),
    ("cannot open rtsp://admin:p%40ss@cam/s (401)", "cannot open rtsp://admin:***@cam/s (401)"),
    ("rtsp://admin:p@ss@cam/s", "rtsp://admin:***@cam/s"),  # an unencoded '@' in the password
    ("rtsp://token123@cam/s", "rtsp://***@cam/s"),
    ("rtsp://cam/s and /dev/video0", "rtsp://cam/s and /dev/video0"),
])
def test_credentials_are_masked(text: str, masked: str) -> None:
    assert mask_credentials(text) == masked


class _NoFrames:
    """The producer of a camera that never connects: nothing to publish, nothing to flush."""

    def flush(self, timeout_s: float = 30.0) -> int:
        return 0


def test_a_camera_that_cannot_connect_reports_without_its_password(caplog: pytest.LogCaptureFixture) -> None:
    """A real connection attempt to a closed port: FFmpeg's error names the URL; neither the status records nor
    the log lines carry the password."""
    stop = threading.Event()
    statuses: list[CameraStatus] = []

    def status(record: CameraStatus) -> None:
        statuses.append(record)
        if record.state == "reconnecting":
            stop.set()

    config = CameraConfig(id="door", kind="rtsp", url="rtsp://admin:hunter2@127.0.0.1:9/stream")
    worker = CameraWorker("site-a", config, ResilienceSettings(open_timeout_s=2.0), _NoFrames(),  # type: ignore[arg-type]
                          "frames.site-a", status, stop)
    with caplog.at_level(logging.INFO, logger="streams.cameras"):
        worker.run()
    assert [record.state for record in statuses][-1] == "down"
    reasons = " ".join(record.reason for record in statuses)
    assert "rtsp://admin:***@127.0.0.1:9/stream" in reasons
    assert "hunter2" not in reasons and "hunter2" not in caplog.text and "admin:***" in caplog.text


def test_the_adapter_refuses_a_cameras_file_with_a_foreign_scheme_before_starting(tmp_path: Path) -> None:
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text("site: lobby\ncameras:\n  - {id: door, kind: rtsp, url: 'http://admin:pw@10.0.0.5/feed'}\n")
    result = CliRunner().invoke(app, ["cameras", "run", "--config", str(cameras), "--no-start-broker"])
    assert result.exit_code == 2
    shown = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())  # typer's error box, unwrapped
    assert "camera door: rtsp cameras take rtsp:// URLs or rtsps:// URLs, not a http: URL" in shown
    assert "(http://admin:***@10.0.0.5/feed)" in shown and "pw@" not in shown
