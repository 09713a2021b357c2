"""Prometheus, Alertmanager and the alert receiver as managed background processes with the project's files.

`MonitoringStack.start(targets)` writes the configs and the targets file and starts what is not running;
`set_targets` changes what Prometheus scrapes without a restart (file-based discovery); `fired_alerts` reads
back every alert that fired, from the receiver's notifications file.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.alerts.notifications import AlertRecord, fired_alerts
from infra.process import ManagedProcess, ServiceError, port_is_open, tail
from infra.prometheus.config import write_configs
from infra.prometheus.settings import MonitoringSettings
from infra.prometheus.targets import ScrapeTarget, write_targets

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    url: str
    log_file: Path


def _http_ok(url: str, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class MonitoringStack:
    def __init__(self, settings: MonitoringSettings) -> None:
        self.settings = settings
        self.state_dir = settings.state_dir.resolve()
        self._receiver = ManagedProcess("alert-receiver", self.state_dir)
        self._alertmanager = ManagedProcess("alertmanager", self.state_dir)
        self._prometheus = ManagedProcess("prometheus", self.state_dir)

    def _components(self) -> list[tuple[ManagedProcess, str, int, str]]:
        """Each part with its port and readiness URL, in start order (a part's receiver before it)."""
        s = self.settings
        return [
            (self._receiver, s.receiver_url, s.receiver_port, f"http://{s.host}:{s.receiver_port}/"),
            (self._alertmanager, s.alertmanager_url, s.alertmanager_port, f"{s.alertmanager_url}/-/ready"),
            (self._prometheus, s.prometheus_url, s.prometheus_port, f"{s.prometheus_url}/-/ready"),
        ]

    def _commands(self, prometheus_yml: Path, alertmanager_yml: Path) -> dict[str, list[str]]:
        s = self.settings
        return {
            "alert-receiver": [sys.executable, "-m", "infra.alerts.receiver", "--host", s.host,
                               "--port", str(s.receiver_port), "--out", str(s.notifications_file.resolve()),
                               "--max-bytes", str(s.notifications_max_bytes)],
            "alertmanager": [self._executable(s.alertmanager), f"--config.file={alertmanager_yml}",
                             f"--storage.path={self.state_dir / 'alertmanager-data'}",
                             f"--web.listen-address={s.host}:{s.alertmanager_port}",
                             "--cluster.listen-address="],  # one node: no gossip port to collide with
            "prometheus": [self._executable(s.prometheus), f"--config.file={prometheus_yml}",
                           f"--storage.tsdb.path={self.state_dir / 'prometheus-data'}",
                           f"--storage.tsdb.retention.time={s.retention}",
                           f"--storage.tsdb.retention.size={s.retention_size}",
                           f"--web.listen-address={s.host}:{s.prometheus_port}"],
        }

    @staticmethod
    def _executable(name: str) -> str:
        path = shutil.which(name)
        if path is None:
            raise ServiceError(f"{name} is not installed: `make system-deps` installs Debian's prometheus and "
                               "prometheus-alertmanager")
        return path

    def start(self, targets: list[ScrapeTarget]) -> list[ComponentStatus]:
        """Write the configs and targets, start the parts not running, wait until each answers."""
        self.set_targets(targets)
        prometheus_yml, alertmanager_yml = write_configs(self.settings)
        commands = self._commands(prometheus_yml.resolve(), alertmanager_yml.resolve())
        for process, _, port, ready_url in self._components():
            if not process.is_running():
                if port_is_open(self.settings.host, port):
                    raise ServiceError(f"port {port} is taken by a process this project did not start; set "
                                       f"ACTIONSTREAM_MONITORING_{process.name.upper().replace('-', '_')}_PORT")
                process.start(commands[process.name], cwd=self.state_dir)
            self._wait_ready(process, ready_url)
        return self.status()

    def _wait_ready(self, process: ManagedProcess, ready_url: str) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_s
        while not _http_ok(ready_url):
            if not process.is_running():
                raise ServiceError(f"{process.name} exited during start-up:\n{tail(process.log_file)}")
            if time.monotonic() > deadline:
                raise ServiceError(f"{process.name} did not answer on {ready_url} within "
                                   f"{self.settings.start_timeout_s:.0f} s:\n{tail(process.log_file)}")
            time.sleep(0.2)

    def set_targets(self, targets: list[ScrapeTarget]) -> None:
        write_targets(self.settings.targets_file, targets)

    def stop(self) -> bool:
        """Stop every part (Prometheus first, so it sends nothing to a stopped Alertmanager)."""
        stopped = [process.stop(timeout_s=15.0) for process, *_ in reversed(self._components())]
        return any(stopped)

    def status(self) -> list[ComponentStatus]:
        return [ComponentStatus(process.name, process.is_running() and _http_ok(ready_url), url, process.log_file)
                for process, url, _, ready_url in self._components()]

    def fired_alerts(self, since: float = 0.0) -> list[AlertRecord]:
        return fired_alerts(self.settings.notifications_file, since)

    def api(self, path: str, **params: str) -> Any:
        """GET a Prometheus API path (e.g. `query`, `targets`); the `data` of its answer."""
        url = f"{self.settings.prometheus_url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10.0) as response:
            answer = json.loads(response.read())
        if answer.get("status") != "success":
            raise ServiceError(f"Prometheus {path}: {answer.get('error')}")
        return answer["data"]

    def target_health(self) -> dict[str, str]:
        """Each scraped process and its health as Prometheus sees it (up, down, unknown)."""
        return {target["labels"].get("process", target["scrapeUrl"]): target["health"]
                for target in self.api("targets", state="active")["activeTargets"]}
