"""The offline history as parquet parts: a schema-only part first, one part per push, past hours compacted
into one file with every row kept, the current hour left alone."""

from __future__ import annotations

import calendar
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from feature_store.offline import PartitionedParquet

SCHEMA = pa.schema([("camera", pa.string()), ("value", pa.float64())])
HOUR_9 = calendar.timegm((2026, 11, 30, 9, 0, 0))
HOUR_10 = HOUR_9 + 3600


def _rows(*values: float) -> pa.Table:
    return pa.table({"value": list(values), "camera": ["s/c"] * len(values)})  # column order differs on purpose


def test_parts_accumulate_and_past_hours_compact(tmp_path: Path) -> None:
    history = PartitionedParquet(tmp_path / "h", SCHEMA)
    history.ensure()
    history.ensure()
    assert len(history.parts()) == 1 and pq.read_table(history.directory).num_rows == 0
    history.append(_rows(1.0, 2.0), now=HOUR_9 + 10)
    history.append(_rows(3.0), now=HOUR_9 + 20)
    history.append(_rows(4.0), now=HOUR_10 + 5)
    history.append(_rows(5.0), now=HOUR_10 + 6)
    assert len(history.parts()) == 5
    assert history.compact(now=HOUR_10 + 7) == 2  # hour 9's two parts; hour 10 is still being written
    assert len(history.parts()) == 4
    table = pq.read_table(history.directory)
    assert table.schema == SCHEMA
    assert sorted(table.column("value").to_pylist()) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert not list(history.directory.glob(".*"))  # no staging files left behind
