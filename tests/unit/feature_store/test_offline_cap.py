"""The offline history's disk cap: past it the oldest hours go, never the newest part or the schema part."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from feature_store.offline import PartitionedParquet
from tests.unit.feature_store.test_offline import HOUR_9, SCHEMA, _rows


def test_the_oldest_hours_go_past_the_cap(tmp_path: Path) -> None:
    history = PartitionedParquet(tmp_path / "h", SCHEMA)
    history.ensure()
    for hour in range(6):
        history.append(_rows(float(hour)), now=HOUR_9 + 3600 * hour)
    part_bytes = max(part.stat().st_size for part in history.parts())
    capped = PartitionedParquet(history.directory, SCHEMA, max_bytes=3 * part_bytes)
    assert capped.compact(now=HOUR_9 + 3600 * 6) == 3  # nothing to merge (one part per hour), three trimmed
    assert sorted(pq.read_table(history.directory).column("value").to_pylist()) == [3.0, 4.0, 5.0]
    assert any(part.stem.endswith("-schema") for part in capped.parts())


def test_a_newest_part_over_the_cap_on_its_own_is_kept(tmp_path: Path) -> None:
    history = PartitionedParquet(tmp_path / "h", SCHEMA, max_bytes=1)
    history.ensure()
    history.append(_rows(1.0, 2.0), now=HOUR_9)
    history.append(_rows(3.0), now=HOUR_9 + 3600)
    assert history.trim() == 1
    assert pq.read_table(history.directory).column("value").to_pylist() == [3.0]


def test_no_cap_removes_nothing(tmp_path: Path) -> None:
    history = PartitionedParquet(tmp_path / "h", SCHEMA)
    history.ensure()
    history.append(_rows(1.0), now=HOUR_9)
    history.append(_rows(2.0), now=HOUR_9 + 3600)
    assert history.trim() == 0 and len(history.parts()) == 3
