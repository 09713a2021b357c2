"""Settings of the local broker and RTSP server, and feed publisher naming."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.rtsp.publisher import FeedPublisher
from infra.settings import BrokerSettings, RtspServerSettings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACTIONSTREAM_RTSP_HOST", "ACTIONSTREAM_RTSP_PORT", "ACTIONSTREAM_BROKER_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_libs_dir_layout(tmp_path: Path) -> None:
    settings = BrokerSettings(cache_dir=tmp_path, kafka_version="4.1.1")
    assert settings.libs_dir == tmp_path / "kafka" / "4.1.1" / "libs"


def test_bootstrap_servers() -> None:
    assert BrokerSettings(host="127.0.0.1", port=29092).bootstrap_servers == "127.0.0.1:29092"


def test_broker_port_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONSTREAM_BROKER_PORT", "29092")
    assert BrokerSettings().port == 29092


@pytest.mark.parametrize("path", ["site-a/cam1", "/site-a/cam1"])
def test_rtsp_url(path: str) -> None:
    assert RtspServerSettings().url(path) == "rtsp://127.0.0.1:8554/site-a/cam1"


def test_rtsp_url_follows_host_and_port() -> None:
    assert RtspServerSettings(host="10.0.0.5", port=9554).url("x") == "rtsp://10.0.0.5:9554/x"


def test_feed_publisher_naming(tmp_path: Path) -> None:
    settings = RtspServerSettings(state_dir=tmp_path)
    publisher = FeedPublisher(settings, "/site-a/cam 1/", tmp_path / "feed.mp4")
    assert publisher.path == "site-a/cam 1"
    assert publisher.url == "rtsp://127.0.0.1:8554/site-a/cam 1"
    assert publisher._process.name == "publish-site-a_cam_1"
    assert publisher._process.pid_file == tmp_path.resolve() / "publish-site-a_cam_1.pid"
    assert publisher.is_running() is False


def test_feed_publishers_of_different_paths_do_not_share_a_pid_file(tmp_path: Path) -> None:
    settings = RtspServerSettings(state_dir=tmp_path)
    first = FeedPublisher(settings, "site-a/cam1", tmp_path / "feed.mp4")
    second = FeedPublisher(settings, "site-a/cam2", tmp_path / "feed.mp4")
    assert first._process.pid_file != second._process.pid_file
