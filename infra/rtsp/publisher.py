"""Looping feeds published into the RTSP server by ffmpeg, standing in for live IP cameras."""

from __future__ import annotations

import logging
import re
import shutil
import time
from pathlib import Path

from infra.process import ManagedProcess, ServiceError, tail
from infra.settings import RtspServerSettings

logger = logging.getLogger(__name__)


def _process_name(path: str) -> str:
    return "publish-" + re.sub(r"[^A-Za-z0-9_.-]", "_", path.strip("/"))


class FeedPublisher:
    """Publishes one H.264 file, looped forever in real time and without re-encoding, on an RTSP path."""

    def __init__(self, settings: RtspServerSettings, path: str, source: Path) -> None:
        self.settings = settings
        self.path = path.strip("/")
        self.source = source
        self._process = ManagedProcess(_process_name(self.path), settings.state_dir.resolve())

    @property
    def url(self) -> str:
        return self.settings.url(self.path)

    def start(self, wait_s: float = 10.0) -> None:
        if self._process.is_running():
            return
        if shutil.which(self.settings.ffmpeg) is None:
            raise ServiceError(f"{self.settings.ffmpeg} is not installed (Debian package ffmpeg)")
        if not self.source.exists():
            raise ServiceError(f"feed file {self.source} does not exist")
        self._process.start([
            self.settings.ffmpeg, "-hide_banner", "-loglevel", "warning", "-nostdin",
            "-re", "-stream_loop", "-1", "-i", str(self.source),
            "-an", "-c:v", "copy", "-f", "rtsp", "-rtsp_transport", "tcp", self.url,
        ])
        self._wait_published(wait_s)

    def _wait_published(self, wait_s: float) -> None:
        """Wait until a reader can DESCRIBE the path (the server answers 404 until the publisher records)."""
        import av

        deadline = time.monotonic() + wait_s
        last_error = ""
        while time.monotonic() < deadline:
            if not self._process.is_running():
                raise ServiceError(f"publisher for {self.path} exited:\n{tail(self._process.log_file)}")
            try:
                with av.open(self.url, options={"rtsp_transport": "tcp"}, timeout=2.0):
                    return
            except av.FFmpegError as error:
                last_error = str(error)
            time.sleep(0.2)
        raise ServiceError(f"{self.url} was not published within {wait_s:.0f} s ({last_error})")

    def is_running(self) -> bool:
        return self._process.is_running()

    @property
    def pid(self) -> int | None:
        return self._process.pid()

    def stop(self) -> bool:
        return self._process.stop(timeout_s=5.0)
