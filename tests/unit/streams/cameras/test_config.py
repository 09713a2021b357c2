"""The cameras file: YAML loading, defaults, and rejected configurations."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.cameras.config import CameraConfig, ResilienceSettings, SiteConfig, load_site_config

SITE_YAML = """\
site: site-a
resilience:
  backoff_max_s: 10
  stall_timeout_s: 3
cameras:
  - id: cam1
    url: rtsp://127.0.0.1:8554/site-a/cam1
  - id: lobby.door_2
    kind: file
    url: /data/lobby.mp4
    sample_fps: 5
    width: 320
    height: 240
    loop: true
"""


def test_load_site_config_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text(SITE_YAML)

    config = load_site_config(path)

    assert config.site == "site-a"
    assert [camera.id for camera in config.cameras] == ["cam1", "lobby.door_2"]
    lobby = config.cameras[1]
    assert (lobby.kind, lobby.url, lobby.sample_fps, lobby.width, lobby.height, lobby.loop) == (
        "file", "/data/lobby.mp4", 5.0, 320, 240, True
    )
    assert config.resilience.backoff_max_s == 10.0
    assert config.resilience.stall_timeout_s == 3.0
    assert config.resilience.backoff_initial_s == ResilienceSettings().backoff_initial_s


def test_camera_defaults() -> None:
    camera = CameraConfig(id="cam1", url="rtsp://host/cam1")
    assert camera.kind == "rtsp"
    assert camera.sample_fps == 8.0
    assert (camera.width, camera.height) == (224, 224)
    assert camera.jpeg_quality == 3
    assert camera.interpolation == "BILINEAR"
    assert camera.realtime is True
    assert camera.loop is False
    assert camera.skip_nonref is True
    assert camera.decoder_threads == 0


def test_resilience_defaults() -> None:
    resilience = SiteConfig(site="s", cameras=[]).resilience
    assert resilience == ResilienceSettings(
        backoff_initial_s=0.5, backoff_max_s=30.0, backoff_multiplier=2.0, backoff_jitter=0.2,
        open_timeout_s=5.0, stall_timeout_s=5.0,
    )


def test_duplicate_camera_ids_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text("site: s\ncameras:\n  - {id: cam1, url: a}\n  - {id: cam2, url: b}\n  - {id: cam1, url: c}\n")
    with pytest.raises(ValidationError, match=r"duplicate camera ids: \['cam1'\]"):
        load_site_config(path)


@pytest.mark.parametrize("bad_id", ["cam 1", "cam/1", "", "cäm"])
def test_bad_camera_id_is_rejected(bad_id: str) -> None:
    with pytest.raises(ValidationError, match="id"):
        CameraConfig(id=bad_id, url="rtsp://host/x")


@pytest.mark.parametrize("bad_site", ["site.a", "site a", ""])
def test_bad_site_name_is_rejected(bad_site: str) -> None:
    # A dot would make frames.<site> ambiguous with a topic prefix.
    with pytest.raises(ValidationError, match="site"):
        SiteConfig(site=bad_site, cameras=[])


@pytest.mark.parametrize(
    "field, value", [("sample_fps", 0), ("width", 0), ("jpeg_quality", 1), ("jpeg_quality", 32)]
)
def test_out_of_range_camera_values_are_rejected(field: str, value: int) -> None:
    with pytest.raises(ValidationError, match=field):
        CameraConfig.model_validate({"id": "cam1", "url": "x", field: value})
