"""One JSON line per alert of every Alertmanager notification (firing and resolved), and reading them back:
Alertmanager's API lists only the alerts active now, so what fired during a run is known only from here."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class AlertRecord:
    received_at: float
    status: str  # firing | resolved
    alertname: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str
    ends_at: str

    @property
    def summary(self) -> str:
        return self.annotations.get("summary", "")

    @property
    def identity(self) -> tuple[tuple[str, str], ...]:
        """The alert's label set: the same alert across its notifications."""
        return tuple(sorted(self.labels.items()))


def records_of(payload: dict[str, Any], received_at: float) -> list[AlertRecord]:
    """The alerts of one webhook payload (Alertmanager webhook format, version 4)."""
    return [
        AlertRecord(received_at=received_at, status=str(alert.get("status", payload.get("status", ""))),
                    alertname=str(alert.get("labels", {}).get("alertname", "")),
                    labels=dict(alert.get("labels", {})), annotations=dict(alert.get("annotations", {})),
                    starts_at=str(alert.get("startsAt", "")), ends_at=str(alert.get("endsAt", "")))
        for alert in payload.get("alerts", [])
    ]


def append_records(path: Path, records: list[AlertRecord], max_bytes: int | None = None) -> None:
    """Append; a file grown past `max_bytes` keeps its newest lines, half the cap, so that it is not rewritten at
    every notification once full."""
    with path.open("a") as out:
        for record in records:
            out.write(json.dumps(asdict(record), sort_keys=True) + "\n")
    if max_bytes is not None and path.stat().st_size > max_bytes:
        _keep_newest(path, max_bytes // 2)


def _keep_newest(path: Path, budget: int) -> None:
    kept: list[str] = []
    for line in reversed(path.read_text().splitlines(keepends=True)):
        budget -= len(line.encode())
        if budget < 0:
            break
        kept.append(line)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text("".join(reversed(kept)))
    os.replace(staging, path)  # a reader sees the old file or the new one, never half of it


def read_records(path: Path, since: float = 0.0) -> list[AlertRecord]:
    if not path.exists():
        return []
    records = [AlertRecord(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
    return [record for record in records if record.received_at >= since]


def fired_alerts(path: Path, since: float = 0.0) -> list[AlertRecord]:
    """Each alert that fired since `since`, once (its first firing notification), in the order they fired."""
    seen: set[tuple[tuple[str, str], ...]] = set()
    fired = []
    for record in read_records(path, since):
        if record.status == "firing" and record.identity not in seen:
            seen.add(record.identity)
            fired.append(record)
    return fired
