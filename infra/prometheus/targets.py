"""Scrape targets for Prometheus's file-based service discovery, from the Procfile's ports or a user's list.

honcho gives the Procfile's processes $PORT = base, base + 100, base + 200, ... in Procfile order; a process
serves metrics on it when its command uses $PORT (the labeller, for one, serves none). Prometheus re-reads
the targets file when it changes, so processes can come and go without a restart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from honcho.environ import parse_procfile

JOB = "actionstream"  # the scrape job these targets belong to (config.py)
_USES_PORT = re.compile(r"\$(PORT\b|\{PORT\})")
HONCHO_PORT_STEP = 100  # honcho's spacing between consecutive process types


@dataclass(frozen=True)
class ScrapeTarget:
    process: str
    address: str  # host:port

    @classmethod
    def parse(cls, entry: str) -> ScrapeTarget:
        """`name=host:port`, as a user lists targets (e.g. `selector=10.0.0.7:9565`)."""
        process, separator, address = entry.partition("=")
        host, _, port = address.rpartition(":")
        if not separator or not process or not host or not port.isdigit():
            raise ValueError(f"a scrape target is name=host:port, not {entry!r}")
        return cls(process, address)


def procfile_targets(procfile: Path, base_port: int, host: str = "127.0.0.1") -> list[ScrapeTarget]:
    """The metrics endpoint of each Procfile process that serves one, as honcho `-p base_port` numbers them."""
    processes = parse_procfile(procfile.read_text()).processes
    return [
        ScrapeTarget(name, f"{host}:{base_port + index * HONCHO_PORT_STEP}")
        for index, (name, command) in enumerate(processes.items())
        if _USES_PORT.search(command)
    ]


def write_targets(path: Path, targets: list[ScrapeTarget]) -> Path:
    """Write the file_sd JSON atomically (Prometheus may read it at any moment)."""
    groups = [{"targets": [target.address], "labels": {"process": target.process}}
              for target in targets]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(groups, indent=2) + "\n")
    partial.replace(path)
    return path
