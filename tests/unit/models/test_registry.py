from __future__ import annotations

import logging
from pathlib import Path

import pytest

from models.registry import (
    RegistrySettings,
    alias_version,
    bundle_uri,
    find_versions,
    register_version,
    resolve_bundle,
    resolve_bundle_dir,
    served_alias,
    set_alias,
    set_version_tags,
    version_tags,
)


def test_a_local_directory_resolves_to_itself(tmp_path: Path) -> None:
    assert resolve_bundle_dir(str(tmp_path), RegistrySettings()) == tmp_path


def test_aliases_become_registry_uris() -> None:
    settings = RegistrySettings(registered_model="m")
    assert bundle_uri("production", settings) == "models:/m@production"
    assert bundle_uri("models:/other/3", settings) == "models:/other/3"


@pytest.mark.slow
def test_versions_aliases_and_lineage_tags(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = RegistrySettings(tracking_uri=f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}", registered_model="m")
    source = tmp_path / "bundle"
    source.mkdir()
    (source / "manifest.json").write_text("{}")
    assert alias_version(settings, "production") is None  # no model registered yet

    first = register_version(settings, source.as_uri(), tags={"origin": "unit"})
    second = register_version(settings, source.as_uri())
    assert (first, second) == ("1", "2")
    assert alias_version(settings, settings.candidate_alias) == "2"
    set_alias(settings, first, "production")
    assert alias_version(settings, "production") == "1"
    set_version_tags(settings, second, {"retrain.request_id": "r-1", "retrain.parent_version": first})
    assert version_tags(settings, second) == {"retrain.request_id": "r-1", "retrain.parent_version": "1"}
    assert version_tags(settings, first) == {"origin": "unit"}
    assert find_versions(settings, {"retrain.request_id": "r-1"}) == ["2"]
    assert find_versions(settings, {"retrain.request_id": "r-2"}) == []

    with caplog.at_level(logging.INFO, logger="models.registry"):
        resolved = resolve_bundle("production", settings, tmp_path / "served")
    assert resolved.version == "m/1" and (resolved.path / "manifest.json").is_file()
    # Each process logs the version it serves; the resolve itself is DEBUG detail.
    assert not [record for record in caplog.records if record.name == "models.registry"]


def test_the_alias_a_serving_reference_follows(tmp_path: Path) -> None:
    settings = RegistrySettings(registered_model="m")
    assert served_alias("production", settings) == ("m", "production")
    assert served_alias("models:/other@shadow", settings) == ("other", "shadow")
    assert served_alias("models:/m/3", settings) is None  # a fixed version follows nothing
    assert served_alias(str(tmp_path), settings) is None
