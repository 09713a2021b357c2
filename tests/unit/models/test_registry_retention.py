"""The registry's disk cap keeps aliased versions and their parents, and deletes the oldest others with their files."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.registry import PARENT_VERSION_TAG, RegistrySettings, register_version, set_alias, set_version_tags
from models.registry_retention import RegistryRetention, prune_registry


def _bundle(root: Path, version: int, size: int) -> Path:
    folder = root / f"bundle-{version}"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\0" * size)
    return folder


@pytest.mark.slow
def test_the_oldest_unprotected_versions_go_with_their_artifacts(tmp_path: Path) -> None:
    settings = RegistrySettings(tracking_uri=f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}", registered_model="m")
    folders = {str(number): _bundle(tmp_path / "artifacts", number, 1000) for number in range(1, 7)}
    for number in sorted(folders, key=int):
        assert register_version(settings, folders[number].as_uri()) == number
    set_alias(settings, "2", "production")  # production, and its parent 1 (what a rollback returns to)
    set_version_tags(settings, "2", {PARENT_VERSION_TAG: "1"})

    # Unprotected: 3, 4, 5, 6 (@candidate moved on to 6, so 6 is aliased too): keep the newest of 3-5 only.
    pruned = prune_registry(settings, RegistryRetention(keep_versions=1, max_artifact_bytes=10**6))

    assert [item.version for item in pruned] == ["3", "4"]
    assert all(item.bytes_freed == 1000 for item in pruned)
    assert {number for number, folder in folders.items() if folder.exists()} == {"1", "2", "5", "6"}
    assert prune_registry(settings, RegistryRetention(keep_versions=1, max_artifact_bytes=10**6)) == []

    # The byte cap binds before the count: 5's 1000 bytes do not fit in 999.
    assert [item.version for item in prune_registry(settings, RegistryRetention(max_artifact_bytes=999))] == ["5"]
