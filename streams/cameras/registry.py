"""Registry of camera kinds. Each kind is a small class in its own module, imported only when used."""

from __future__ import annotations

import importlib
import time
from typing import Protocol

import av.container

from streams.cameras.config import CameraConfig, ResilienceSettings
from streams.cameras.urls import mask_credentials, url_scheme


class CameraError(RuntimeError):
    """A camera problem with a reason an operator can act on; the worker reports it and reconnects."""


class CameraSource(Protocol):
    """How to open one kind of camera as a PyAV container."""

    live: bool  # a live source cannot be rewound; its end is an outage, not the end of a recording
    schemes: frozenset[str]  # URL schemes the kind accepts ("": a plain path)

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


def _camera_class(kind: str) -> type[CameraSource]:
    try:
        module_name, class_name = _KINDS[kind].split(":")
    except KeyError:
        raise CameraError(f"unknown camera kind {kind!r}; known: {', '.join(camera_kinds())}") from None
    camera_class: type[CameraSource] = getattr(importlib.import_module(module_name), class_name)
    return camera_class


def accepted_schemes(kind: str) -> frozenset[str]:
    """URL schemes a camera kind accepts ("": a plain path)."""
    return _camera_class(kind).schemes


def check_camera(config: CameraConfig) -> None:
    """CameraError when the kind is unknown or does not accept the URL's scheme."""
    schemes = accepted_schemes(config.kind)
    scheme = url_scheme(config.url)
    if scheme not in schemes:
        accepted = " or ".join(f"{name}:// URLs" if name else "a path" for name in sorted(schemes))
        raise CameraError(f"camera {config.id}: {config.kind} cameras take {accepted}, not "
                          f"{f'a {scheme}: URL' if scheme else 'a path'} ({mask_credentials(config.url)})")


def create_camera(config: CameraConfig, resilience: ResilienceSettings) -> CameraSource:
    check_camera(config)
    return _camera_class(config.kind)(config, resilience)  # type: ignore[call-arg]  # kinds take (config, resilience)


# FFmpeg demuxers that render text or ANSI art as "video": a text file must not pass for a camera.
_TEXT_FORMATS = frozenset({"tty", "bin", "adf", "idf", "xbin"})


def open_container(
    url: str, resilience: ResilienceSettings, options: dict[str, str] | None = None, format: str | None = None
) -> av.container.InputContainer:
    """av.open with open and read timeouts, translating FFmpeg's errors into a CameraError with a reason."""
    started = time.monotonic()
    shown = mask_credentials(url)
    try:
        container = av.open(
            url,
            format=format,
            options=options or {},
            timeout=(resilience.open_timeout_s, resilience.stall_timeout_s),
        )
    except FileNotFoundError:
        raise CameraError(f"{shown}: no such file or device") from None
    except av.FFmpegError as error:
        if time.monotonic() - started >= 0.9 * resilience.open_timeout_s:
            raise CameraError(f"{shown}: cannot open (no answer within {resilience.open_timeout_s:g} s)") from None
        raise CameraError(f"{shown}: cannot open ({mask_credentials(str(error.strerror or error))})") from None
    if container.format.name in _TEXT_FORMATS or not container.streams.video:
        container.close()
        raise CameraError(f"{shown}: no video stream (not a video source)")
    return container
