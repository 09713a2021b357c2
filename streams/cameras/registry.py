"""Registry of camera kinds. Each kind is a small class in its own module, imported only when used."""

from __future__ import annotations

import importlib
import time
from typing import Protocol

import av.container

from streams.cameras.config import CameraConfig, ResilienceSettings


class CameraError(RuntimeError):
    """A camera problem with a reason an operator can act on; the worker reports it and reconnects."""


class CameraSource(Protocol):
    """How to open one kind of camera as a PyAV container."""

    live: bool  # a live source cannot be rewound; its end is an outage, not the end of a recording

    def open(self) -> av.container.InputContainer: ...


_KINDS: dict[str, str] = {
    "rtsp": "streams.cameras.rtsp:RtspCamera",
    "file": "streams.cameras.file:FileCamera",
    "usb": "streams.cameras.usb:UsbCamera",
}


def register_camera_kind(name: str, target: str) -> None:
    """Add a kind as "module:Class"; the class takes (CameraConfig, ResilienceSettings)."""
    if name in _KINDS:
        raise ValueError(f"camera kind {name!r} is already registered ({_KINDS[name]})")
    _KINDS[name] = target


def camera_kinds() -> list[str]:
    return sorted(_KINDS)


def create_camera(config: CameraConfig, resilience: ResilienceSettings) -> CameraSource:
    try:
        module_name, class_name = _KINDS[config.kind].split(":")
    except KeyError:
        raise CameraError(f"unknown camera kind {config.kind!r}; known: {', '.join(camera_kinds())}") from None
    camera_class = getattr(importlib.import_module(module_name), class_name)
    return camera_class(config, resilience)


# FFmpeg demuxers that render text or ANSI art as "video": a text file must not pass for a camera.
_TEXT_FORMATS = frozenset({"tty", "bin", "adf", "idf", "xbin"})


def open_container(
    url: str, resilience: ResilienceSettings, options: dict[str, str] | None = None, format: str | None = None
) -> av.container.InputContainer:
    """av.open with open and read timeouts, translating FFmpeg's errors into a CameraError with a reason."""
    started = time.monotonic()
    try:
        container = av.open(
            url,
            format=format,
            options=options or {},
            timeout=(resilience.open_timeout_s, resilience.stall_timeout_s),
        )
    except FileNotFoundError:
        raise CameraError(f"{url}: no such file or device") from None
    except av.FFmpegError as error:
        if time.monotonic() - started >= 0.9 * resilience.open_timeout_s:
            raise CameraError(f"{url}: cannot open (no answer within {resilience.open_timeout_s:g} s)") from None
        raise CameraError(f"{url}: cannot open ({error.strerror or error})") from None
    if container.format.name in _TEXT_FORMATS or not container.streams.video:
        container.close()
        raise CameraError(f"{url}: no video stream (not a video source)")
    return container
