"""IP cameras over RTSP (interleaved TCP: no UDP loss, passes NAT and firewalls)."""

from __future__ import annotations

import av.container

from streams.cameras.config import CameraConfig, ResilienceSettings
from streams.cameras.registry import open_container


class RtspCamera:
    live = True
    schemes = frozenset({"rtsp", "rtsps"})

    def __init__(self, config: CameraConfig, resilience: ResilienceSettings) -> None:
        self.config = config
        self.resilience = resilience

    def open(self) -> av.container.InputContainer:
        return open_container(self.config.url, self.resilience, options={"rtsp_transport": "tcp"})
