"""Deleting a site's rows from the feature store: its cameras' offline history (parquet parts rewritten without
them) and their online rows (Feast has no delete: the embedded SQLite online table is edited directly)."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from feature_store.offline import PartitionedParquet
from feature_store.schema import ARROW_SCHEMA, TIMESTAMP, VIEW
from feature_store.settings import FeatureStoreSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureRowsPurged:
    offline_rows: int
    online_rows: int  # one per camera and feature
    online_supported: bool  # False: Redis or Postgres online store, left as it is


def purge_site_rows(settings: FeatureStoreSettings, site: str, before: datetime | None = None) -> FeatureRowsPurged:
    offline = _purge_offline(PartitionedParquet(settings.offline_dir, ARROW_SCHEMA), site, before)
    if settings.online.kind != "sqlite":
        return FeatureRowsPurged(offline, 0, online_supported=False)
    return FeatureRowsPurged(offline, _purge_online_sqlite(settings, site, before), online_supported=True)


def _purge_offline(history: PartitionedParquet, site: str, before: datetime | None) -> int:
    removed = 0
    for part in history.parts() if history.directory.is_dir() else []:
        table = pq.read_table(part)
        doomed = pc.equal(table["site"], site)
        if before is not None:
            cutoff = pa.scalar(before.astimezone(UTC), type=table.schema.field(TIMESTAMP).type)
            doomed = pc.and_(doomed, pc.less(table[TIMESTAMP], cutoff))
        count = pc.sum(pc.cast(doomed, pa.int64())).as_py() or 0
        if count:
            history.replace(part, table.filter(pc.invert(doomed)))
            removed += count
    return removed


def _purge_online_sqlite(settings: FeatureStoreSettings, site: str, before: datetime | None) -> int:
    path = settings.data_dir / "online.db"
    if not path.exists():
        return 0
    from feast.infra.key_encoding_utils import deserialize_entity_key  # ~10 s: only with an online store to edit

    table = f"{settings.project}_{VIEW}"  # Feast's SQLite table name: project, then view
    version = settings.repo_config()["entity_key_serialization_version"]
    with sqlite3.connect(path) as connection:
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
            return 0
        doomed: list[tuple[bytes, str]] = []
        for key, feature, event_ts in connection.execute(
                f'SELECT entity_key, feature_name, event_ts FROM "{table}"'):
            camera = deserialize_entity_key(key, entity_key_serialization_version=version).entity_values[0].string_val
            older = before is None or _epoch_s(event_ts) < before.timestamp()
            if camera.startswith(f"{site}/") and older:
                doomed.append((key, feature))
        connection.executemany(f'DELETE FROM "{table}" WHERE entity_key = ? AND feature_name = ?', doomed)
    return len(doomed)


def _epoch_s(value: float | str | datetime) -> float:
    """Feast's SQLite online store keeps event_ts as epoch seconds; a timestamp text is read as UTC."""
    if isinstance(value, int | float):
        return float(value)
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return (stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp).timestamp()
