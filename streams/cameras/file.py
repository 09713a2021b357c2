"""Recorded video files as cameras (replays, tests, the demo)."""

from __future__ import annotations

import av.container

from streams.cameras.config import CameraConfig, ResilienceSettings
from streams.cameras.registry import open_container


class FileCamera:
    live = False
    schemes = frozenset({"", "file"})

    def __init__(self, config: CameraConfig, resilience: ResilienceSettings) -> None:
        self.config = config
        self.resilience = resilience

    def open(self) -> av.container.InputContainer:
        return open_container(self.config.url, self.resilience)
