"""The thin client over Feast: register the declarations, push window stats (online through Feast, offline
as parquet parts), read a camera's latest stats and point-in-time history."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from feature_store.offline import PartitionedParquet
from feature_store.schema import ARROW_SCHEMA, ENTITY, FEATURE_NAMES, PUSH_SOURCE, TIMESTAMP, VIEW
from feature_store.settings import REPO_DIR, FeatureStoreSettings

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

logger = logging.getLogger(__name__)

FEATURE_REFS = [f"{VIEW}:{name}" for name in FEATURE_NAMES]


class FeatureClient:
    """Imports Feast (~10 s): build one per process and keep it."""

    def __init__(self, settings: FeatureStoreSettings) -> None:
        from feast import FeatureStore, RepoConfig

        from feature_store.definitions import declarations

        self.settings = settings
        self.declared = declarations(settings.offline_dir, timedelta(seconds=settings.ttl_s))
        self.history = PartitionedParquet(settings.offline_dir, ARROW_SCHEMA, settings.offline_max_bytes)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        config = RepoConfig(repo_path=REPO_DIR, **settings.repo_config())
        self.store = FeatureStore(repo_path=str(REPO_DIR), config=config)

    def apply(self) -> None:
        """Register the entity, sources and view; idempotent (an unchanged declaration changes nothing)."""
        self.history.ensure()  # the source directory must hold a schema before Feast looks at it
        self.store.apply(self.declared.objects())

    def push(self, table: pa.Table) -> None:
        """Rows with the columns of feature_store.schema: the latest per camera online, all of them offline."""
        from feast.data_source import PushMode

        self.store.push(PUSH_SOURCE, table.to_pandas(), to=PushMode.ONLINE)
        self.history.append(table)

    def online(self, site: str, camera: str) -> dict[str, Any]:
        """The camera's latest window stats; every value None when it has none (or they are past the TTL)."""
        key = f"{site}/{camera}"
        values = self.store.get_online_features(features=FEATURE_REFS, entity_rows=[{ENTITY: key}]).to_dict()
        return {name: values[name][0] for name in FEATURE_NAMES}

    def historical(self, entity_df: pd.DataFrame) -> pd.DataFrame:
        """Point-in-time join: for each (camera, event_timestamp) row, the stats of that camera's latest window
        that had ended by then (looking back at most the TTL); NaN where there is none. Rows come back in the
        order given."""
        import pyarrow.parquet as pq

        missing = {ENTITY, TIMESTAMP} - set(entity_df.columns)
        if missing:
            raise ValueError(f"entity_df needs the columns {sorted(missing)}")
        # Feast's file store drops entity rows without a window in range and fails on cameras it has never
        # seen once history spans several files: ask it about known cameras only, put the rest back after.
        known = set(pq.read_table(self.history.directory, columns=[ENTITY]).column(ENTITY).to_pylist())
        asked = entity_df[entity_df[ENTITY].isin(known)][[ENTITY, TIMESTAMP]].drop_duplicates()
        if asked.empty:
            found = asked.reindex(columns=[ENTITY, TIMESTAMP, *FEATURE_NAMES])
        else:
            with warnings.catch_warnings():  # dask's pandas deprecation notices, nothing a user can act on
                warnings.simplefilter("ignore", FutureWarning)
                found = self.store.get_historical_features(entity_df=asked, features=FEATURE_REFS).to_df()
        return entity_df.merge(found, on=[ENTITY, TIMESTAMP], how="left")
