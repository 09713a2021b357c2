"""The repo config the settings render: SQLite and parquet under the data directory by default, Redis or
Postgres online when asked, and the committed feature_store.yaml (for the `feast` CLI) in step with it."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import SecretStr

from feature_store.settings import REPO_DIR, FeatureStoreSettings, OnlineStoreSettings, PostgresSettings


def test_the_embedded_default_keeps_everything_under_the_data_directory(tmp_path: Path) -> None:
    config = FeatureStoreSettings(data_dir=tmp_path).repo_config()
    assert config["online_store"] == {"type": "sqlite", "path": str(tmp_path / "online.db")}
    assert config["registry"]["path"] == str(tmp_path / "registry.db")
    assert config["offline_store"] == {"type": "file"}
    assert FeatureStoreSettings(data_dir=tmp_path).offline_dir.is_relative_to(tmp_path)


def test_redis_and_postgres_online_stores() -> None:
    redis = FeatureStoreSettings(online=OnlineStoreSettings(kind="redis", redis=SecretStr("cache:6379,password=x")))
    assert redis.repo_config()["online_store"] == {"type": "redis", "connection_string": "cache:6379,password=x"}
    postgres = FeatureStoreSettings(online=OnlineStoreSettings(
        kind="postgres", postgres=PostgresSettings(host="db", password=SecretStr("secret"))))
    online = postgres.repo_config()["online_store"]
    assert (online["type"], online["host"], online["port"], online["password"]) == ("postgres", "db", 5432, "secret")
    assert "secret" not in repr(postgres)


def test_the_committed_yaml_is_the_default_config_relative_to_the_repo() -> None:
    committed = yaml.safe_load((REPO_DIR / "feature_store.yaml").read_text())
    rendered = FeatureStoreSettings(data_dir=REPO_DIR.parent / "var" / "feature_store").repo_config()
    for section in ("registry", "online_store"):
        committed[section]["path"] = str((REPO_DIR / committed[section]["path"]).resolve())
    assert committed == rendered
