"""Disk cap of the model registry: every retrain registers a version (tens of MB of bundle), refused ones too, so
without a cap the artifact store grows by one bundle per drift alert forever.

A version is protected while an alias points at it (`production`, `candidate`, the demo's base, ...) and while it
is the parent of an aliased version (what a rollback returns to). Past the newest `keep_versions` unprotected
versions, or past `max_artifact_bytes` of their artifacts, the oldest unprotected versions are deleted from the
registry together with their artifacts. Their MLflow runs (metrics, parameters) stay: they are small, and the
history of what was tried is worth keeping.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, Field

from models.registry import PARENT_VERSION_TAG, RegistrySettings, mlflow_client

logger = logging.getLogger(__name__)

class RegistryRetention(BaseModel):
    keep_versions: int = Field(10, ge=0, description="Newest unprotected versions kept (protected ones: aliased, and "
                                                     "the parents of aliased versions, are always kept).")
    max_artifact_bytes: int = Field(5 * 1024**3, ge=0, description="Disk cap of the unprotected versions' artifacts "
                                                                  "(local stores; a remote store is capped by count).")


@dataclass(frozen=True)
class PrunedVersion:
    version: str
    bytes_freed: int


def _local_path(source: str) -> Path | None:
    parsed = urlparse(source)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None


def _size_bytes(path: Path | None) -> int:
    if path is None or not path.exists():
        return 0
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def prune_registry(settings: RegistrySettings, retention: RegistryRetention) -> list[PrunedVersion]:
    """Delete the oldest unprotected versions past the count or byte cap; returns what was deleted, oldest first."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    client = mlflow_client(settings)
    name = settings.registered_model
    versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda found: int(found.version))
    by_number = {str(found.version): found for found in versions}
    # search_model_versions leaves `aliases` empty; the registered model lists them.
    aliased = {str(version) for version in client.get_registered_model(name).aliases.values()} & set(by_number)
    parents = {by_number[number].tags.get(PARENT_VERSION_TAG) for number in aliased}
    protected = aliased | {parent for parent in parents if parent}

    kept_count, kept_bytes, pruned = 0, 0, []
    for found in reversed(versions):  # newest first: the newest fill the allowance
        number = str(found.version)
        if number in protected:
            continue
        size = _size_bytes(_local_path(found.source))
        if kept_count < retention.keep_versions and kept_bytes + size <= retention.max_artifact_bytes:
            kept_count, kept_bytes = kept_count + 1, kept_bytes + size
            continue
        client.delete_model_version(name, number)
        get_artifact_repository(found.source).delete_artifacts()
        pruned.append(PrunedVersion(number, size))
    pruned.reverse()
    if pruned:
        logger.info("registry over its cap: removed %s version(s) %s and %.1f MB of artifacts", name,
                    ", ".join(item.version for item in pruned), sum(item.bytes_freed for item in pruned) / 1e6)
    return pruned
