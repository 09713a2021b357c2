from __future__ import annotations

from pathlib import Path

from models.registry import RegistrySettings, bundle_uri, resolve_bundle_dir


def test_a_local_directory_resolves_to_itself(tmp_path: Path) -> None:
    assert resolve_bundle_dir(str(tmp_path), RegistrySettings()) == tmp_path


def test_aliases_become_registry_uris() -> None:
    settings = RegistrySettings(registered_model="m")
    assert bundle_uri("production", settings) == "models:/m@production"
    assert bundle_uri("models:/other/3", settings) == "models:/other/3"
