"""The RTSP relay (Go, infra/rtsp/relay) built once per source version, started and stopped as a service."""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from infra.process import ManagedProcess, ServiceError, port_is_open, tail
from infra.settings import RtspServerSettings

logger = logging.getLogger(__name__)

_RELAY_SOURCE = Path(__file__).with_name("relay")


@dataclass(frozen=True)
class RtspServerStatus:
    running: bool
    pid: int | None
    address: str
    log_file: Path


def _source_digest() -> str:
    digest = hashlib.sha256()
    for name in ("main.go", "go.mod", "go.sum"):
        digest.update((_RELAY_SOURCE / name).read_bytes())
    return digest.hexdigest()[:16]


class RtspServer:
    """A multi-path RTSP server: feeds publish into a path, cameras are read from it like IP cameras."""

    def __init__(self, settings: RtspServerSettings) -> None:
        self.settings = settings
        self.state_dir = settings.state_dir.resolve()
        self._process = ManagedProcess("rtsp-relay", self.state_dir)

    def build(self) -> Path:
        """Compile the relay with the Go toolchain; cached by a digest of its sources."""
        binary = self.settings.cache_dir / "rtsp-relay" / _source_digest() / "rtsp-relay"
        if binary.exists():
            return binary
        if shutil.which("go") is None:
            raise ServiceError("the Go toolchain (go) is needed once to build the RTSP relay")
        binary.parent.mkdir(parents=True, exist_ok=True)
        logger.info("building the RTSP relay into %s", binary)
        result = subprocess.run(
            ["go", "build", "-o", str(binary), "."], cwd=_RELAY_SOURCE, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise ServiceError(f"building the RTSP relay failed:\n{result.stdout}\n{result.stderr}")
        return binary

    def status(self) -> RtspServerStatus:
        pid = self._process.pid()
        running = pid is not None and port_is_open(self.settings.host, self.settings.port)
        return RtspServerStatus(running, pid, f"{self.settings.host}:{self.settings.port}", self._process.log_file)

    def start(self) -> RtspServerStatus:
        if self._process.is_running():
            self._wait_ready()
            return self.status()
        if port_is_open(self.settings.host, self.settings.port):
            raise ServiceError(
                f"port {self.settings.port} is taken by a process this project did not start; "
                "set ACTIONSTREAM_RTSP_PORT or stop it"
            )
        binary = self.build()
        self._process.start([
            str(binary),
            "-address", f"{self.settings.host}:{self.settings.port}",
            "-read-timeout", f"{self.settings.read_timeout_s}s",
        ])
        self._wait_ready()
        logger.info("RTSP server ready on %s:%d", self.settings.host, self.settings.port)
        return self.status()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_s
        while time.monotonic() < deadline:
            if not self._process.is_running():
                raise ServiceError(f"the RTSP server exited during start-up:\n{tail(self._process.log_file)}")
            if port_is_open(self.settings.host, self.settings.port):
                return
            time.sleep(0.1)
        raise ServiceError(f"the RTSP server did not listen within {self.settings.start_timeout_s:.0f} s")

    def stop(self) -> bool:
        return self._process.stop(timeout_s=10.0)

    def kill(self) -> bool:
        return self._process.kill()

