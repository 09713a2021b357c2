"""The drift job's Evidently HTML reports on disk: which belong to a camera, and serving one by name without
ever leaving the reports folder."""

from __future__ import annotations

import re
from pathlib import Path

# The drift job names a report "<site>/<camera>/<reference kind>/<window start>" and writes it as that name
# with every run of other characters made "_", plus "-<part>.html" (processors/drift/reports.py, ReportStore).
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
REPORT_NAME = re.compile(r"[A-Za-z0-9._-]+\.html")


def file_prefix(site: str, camera: str) -> str:
    return _UNSAFE.sub("_", f"{site}/{camera}/")


class ReportIndex:
    def __init__(self, reports_dir: Path) -> None:
        self.reports_dir = reports_dir

    def for_camera(self, site: str, camera: str, limit: int = 4) -> list[str]:
        """File names of the camera's reports, newest first."""
        if not self.reports_dir.is_dir():
            return []
        prefix = file_prefix(site, camera)
        found = [path for path in self.reports_dir.glob("*.html") if path.name.startswith(prefix)]
        found.sort(key=lambda path: path.stat().st_mtime, reverse=True)
        return [path.name for path in found[:limit]]

    def resolve(self, name: str) -> Path | None:
        """The report file called `name` directly in the reports folder; None for anything else (a path, a
        link out of the folder, another file type, a missing file)."""
        if not REPORT_NAME.fullmatch(name) or name.startswith("."):
            return None
        root = self.reports_dir.resolve()
        path = (root / name).resolve()
        if path.parent != root or not path.is_file():
            return None
        return path
