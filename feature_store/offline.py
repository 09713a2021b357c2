"""The offline history as a directory of parquet parts: each push adds one part, so its cost depends on the
batch, not on the history (Feast's file store reads and rewrites one whole file per offline push).

Parts are written under a dot name and renamed into place, so a reader never sees half a file. The parts
of an hour that has passed are compacted into one file, so the part count stays bounded for readers. Beyond
its disk cap the oldest hours go (after each compaction), the newest part and the schema part never.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

_HOUR = "%Y%m%dT%H"  # part names start with their UTC hour: the compaction unit
_SCHEMA_PART = "00000000T00-schema"


class PartitionedParquet:
    def __init__(self, directory: Path, schema: pa.Schema, max_bytes: int | None = None) -> None:
        self.directory = directory
        self.schema = schema
        self.max_bytes = max_bytes  # disk cap of the parts together; None: none

    def ensure(self) -> None:
        """An empty part with the schema, so that readers (and Feast's schema checks) work before any push."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.parts():
            self._write(self.schema.empty_table(), _SCHEMA_PART)

    def parts(self) -> list[Path]:
        return sorted(self.directory.glob("*.parquet"))

    def append(self, table: pa.Table, now: float | None = None) -> Path:
        hour = time.strftime(_HOUR, time.gmtime(time.time() if now is None else now))
        return self._write(table.select(self.schema.names).cast(self.schema), f"{hour}-{uuid.uuid4().hex}")

    def compact(self, now: float | None = None) -> int:
        """Merge the parts of each past hour into one; returns the parts removed."""
        current = time.strftime(_HOUR, time.gmtime(time.time() if now is None else now))
        by_hour: dict[str, list[Path]] = {}
        for part in self.parts():
            by_hour.setdefault(part.name.split("-", 1)[0], []).append(part)
        removed = 0
        for hour, parts in by_hour.items():
            if hour >= current or len(parts) < 2:
                continue
            try:
                merged = pa.concat_tables([pq.read_table(part).cast(self.schema) for part in parts])
            except FileNotFoundError:  # another sink on this directory compacted the hour first
                continue
            self._write(merged, f"{hour}-compacted-{uuid.uuid4().hex}")
            for part in parts:  # a reader between the rename and here sees rows twice; Feast keeps one
                part.unlink(missing_ok=True)
            removed += len(parts)
            logger.info("offline history: %d parts of hour %s compacted (%d rows)", len(parts), hour,
                        merged.num_rows)
        return removed + self.trim()

    def trim(self) -> int:
        """Remove the oldest parts while the history is over its disk cap; returns the parts removed."""
        if self.max_bytes is None:
            return 0
        parts = [part for part in self.parts() if part.stem != _SCHEMA_PART]  # names sort by hour
        sizes = {part: part.stat().st_size for part in parts}
        total, removed = sum(sizes.values()), 0
        for part in parts[:-1]:
            if total <= self.max_bytes:
                break
            part.unlink(missing_ok=True)
            total -= sizes[part]
            removed += 1
        if removed:
            logger.info("offline history over its cap (%d bytes): %d oldest parts removed", self.max_bytes, removed)
        return removed

    def replace(self, part: Path, table: pa.Table) -> Path:
        """Rewrite one part with fewer rows (a purge); the new part keeps the hour, so compaction is unchanged."""
        written = self._write(table.cast(self.schema), f"{part.name.split('-', 1)[0]}-{uuid.uuid4().hex}")
        part.unlink(missing_ok=True)
        return written

    def _write(self, table: pa.Table, stem: str) -> Path:
        final = self.directory / f"{stem}.parquet"
        staging = self.directory / f".{stem}.parquet.tmp"
        pq.write_table(table, staging)
        os.replace(staging, final)
        return final
