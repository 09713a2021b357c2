"""USB (UVC) cameras through Video4Linux2."""

from __future__ import annotations

import av.container

from streams.cameras.config import CameraConfig, ResilienceSettings
from streams.cameras.registry import open_container


class UsbCamera:
    live = True
    schemes = frozenset({""})  # a V4L2 device path

    def __init__(self, config: CameraConfig, resilience: ResilienceSettings) -> None:
        self.config = config
        self.resilience = resilience

    def open(self) -> av.container.InputContainer:
        return open_container(self.config.url, self.resilience, format="v4l2")
