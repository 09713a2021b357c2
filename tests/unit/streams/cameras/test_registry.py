"""Camera kinds registry: one contract over every registered kind, and clear errors for bad sources."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from streams.cameras import registry
from streams.cameras.config import CameraConfig, ResilienceSettings
from streams.cameras.registry import (
    CameraError,
    accepted_schemes,
    camera_kinds,
    create_camera,
    open_container,
    register_camera_kind,
)

RESILIENCE = ResilienceSettings(open_timeout_s=2.0)


def _missing_source(kind: str) -> str:
    """A source of the kind's own scheme that does not exist (a path, or a closed port)."""
    scheme = min(accepted_schemes(kind))
    return f"{scheme}://127.0.0.1:9/nonexistent" if scheme else "/nonexistent/source"


@pytest.mark.parametrize("kind", camera_kinds())
def test_every_kind_creates_a_camera_source(kind: str) -> None:
    config = CameraConfig(id="cam1", kind=kind, url=_missing_source(kind))
    camera = create_camera(config, RESILIENCE)
    assert isinstance(camera.live, bool)
    assert callable(camera.open)


@pytest.mark.parametrize("kind", camera_kinds())
def test_every_kind_reports_a_missing_source_as_camera_error(kind: str) -> None:
    camera = create_camera(CameraConfig(id="cam1", kind=kind, url=_missing_source(kind)), RESILIENCE)
    with pytest.raises(CameraError, match=r"no such file or device|Connection refused"):
        camera.open()


def test_builtin_kinds_and_liveness() -> None:
    assert {"rtsp", "file", "usb"} <= set(camera_kinds())
    live = {
        kind: create_camera(CameraConfig(id="c", kind=kind, url=_missing_source(kind)), RESILIENCE).live
        for kind in ("rtsp", "file", "usb")
    }
    assert live == {"rtsp": True, "file": False, "usb": True}


def test_unknown_kind_names_the_known_kinds() -> None:
    with pytest.raises(CameraError) as raised:
        create_camera(CameraConfig(id="cam1", kind="webcam9000", url="x"), RESILIENCE)
    message = str(raised.value)
    assert "webcam9000" in message
    for kind in camera_kinds():
        assert kind in message


def test_duplicate_registration_raises() -> None:
    with pytest.raises(ValueError, match="'file' is already registered"):
        register_camera_kind("file", "somewhere.else:OtherCamera")
    assert registry._KINDS["file"] == "streams.cameras.file:FileCamera"


def test_registering_a_new_kind_makes_it_creatable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))
    register_camera_kind("replay", "streams.cameras.file:FileCamera")
    assert "replay" in camera_kinds()
    camera = create_camera(CameraConfig(id="c", kind="replay", url="x"), RESILIENCE)
    assert camera.live is False


def test_open_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.mp4"
    with pytest.raises(CameraError, match=f"{missing}: no such file or device"):
        open_container(str(missing), RESILIENCE)


@pytest.mark.parametrize("suffix", [".txt", ".ans", ".nfo"])
def test_open_text_file_is_not_a_camera(tmp_path: Path, suffix: str) -> None:
    # FFmpeg's tty demuxer renders .ans/.nfo text as video; it must not pass for a camera.
    text = tmp_path / f"notes{suffix}"
    text.write_text("hello camera\nthis is only text\n")
    with pytest.raises(CameraError, match=r"cannot open|no video stream"):
        open_container(str(text), RESILIENCE)


def test_open_random_bytes(tmp_path: Path) -> None:
    noise = tmp_path / "noise.bin"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(CameraError, match=r"noise\.bin: cannot open \(.+\)"):
        open_container(str(noise), RESILIENCE)


def test_open_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    audio = tmp_path / "audio.wav"
    with wave.open(str(audio), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\0\0" * 800)
    with pytest.raises(CameraError, match="no video stream"):
        open_container(str(audio), RESILIENCE)
