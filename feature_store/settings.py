"""Where the feature store keeps its registry, online and offline data; rendered into Feast's repo config.

Embedded default: a SQLite registry and online store and parquet files, all under `data_dir`. A user with
Redis or Postgres points the online store there (ACTIONSTREAM_FEATURES__ONLINE__KIND=redis and
ACTIONSTREAM_FEATURES__ONLINE__REDIS=host:6379); history stays in partitioned parquet files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr

REPO_DIR = Path(__file__).resolve().parent


class PostgresSettings(BaseModel):
    host: str = "localhost"
    port: int = 5432
    database: str = "actionstream"
    db_schema: str = Field("public", description="Schema of the online tables.")
    user: str = "actionstream"
    password: SecretStr = SecretStr("")


class OnlineStoreSettings(BaseModel):
    kind: Literal["sqlite", "redis", "postgres"] = "sqlite"
    redis: SecretStr = Field(SecretStr("localhost:6379"), description="Redis connection string (host:port,"
                             "password=...,ssl=true), used when kind is redis.")
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)


class FeatureStoreSettings(BaseModel):
    project: str = Field("actionstream", description="Feast project: the namespace of the registered objects.")
    data_dir: Path = Field(Path("var/feature_store"), description="Registry, SQLite online store and parquet "
                           "history live here.")
    online: OnlineStoreSettings = Field(default_factory=OnlineStoreSettings)
    offline_max_bytes: int = Field(2 * 1024**3, ge=1, description="Disk cap of the offline history (parquet "
                                   "parts); the oldest hours go first.")
    ttl_s: float = Field(7 * 86400.0, gt=0, description="A point-in-time read looks back at most this long.")
    registry_cache_ttl_s: int = Field(60, ge=0, description="How long a reader trusts its copy of the registry.")

    @property
    def offline_dir(self) -> Path:
        """One directory of parquet parts for the window stats (see feature_store/offline.py)."""
        return (self.data_dir / "offline" / "camera_window_stats").resolve()

    def repo_config(self) -> dict[str, Any]:
        """Feast's feature_store.yaml as a dict (absolute paths: processes run from any directory)."""
        data_dir = self.data_dir.resolve()
        return {
            "project": self.project,
            "provider": "local",
            "registry": {"registry_type": "file", "path": str(data_dir / "registry.db"),
                         "cache_ttl_seconds": self.registry_cache_ttl_s},
            "online_store": self._online_store(data_dir),
            "offline_store": {"type": "file"},
            "entity_key_serialization_version": 3,
        }

    def _online_store(self, data_dir: Path) -> dict[str, Any]:
        online = self.online
        if online.kind == "redis":
            return {"type": "redis", "connection_string": online.redis.get_secret_value()}
        if online.kind == "postgres":
            postgres = online.postgres
            return {"type": "postgres", "host": postgres.host, "port": postgres.port, "database": postgres.database,
                    "db_schema": postgres.db_schema, "user": postgres.user,
                    "password": postgres.password.get_secret_value()}
        return {"type": "sqlite", "path": str(data_dir / "online.db")}
