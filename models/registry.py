"""The MLflow model registry, reads and writes: find a model bundle (a local directory, a registry alias such
as `candidate` or `production`, or a `models:/` URI), register versions, move aliases, tag versions.

Every registry call goes through here with one settings class, `RegistrySettings`; experiment tracking (runs,
metrics, figures) stays in `training.tracking`. MLflow is imported only when the registry is used.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from mlflow import MlflowClient

logger = logging.getLogger(__name__)

MODEL_URI_PREFIX = "models:/"
SQLITE_PREFIX = "sqlite:///"
PARENT_VERSION_TAG = "retrain.parent_version"  # lineage: the version a candidate was compared with (rollback target)


class RegistrySettings(BaseModel):
    tracking_uri: str = Field("sqlite:///var/mlflow/mlflow.db", description="MLflow tracking and registry URI.")
    registered_model: str = Field("actionstream-smart", description="Registered model name.")
    candidate_alias: str = Field("candidate", description="Alias set on a newly registered version (never served).")


def mlflow_client(settings: RegistrySettings) -> MlflowClient:
    """A client bound to our URI (never a process-global default); creates the local SQLite folder and turns
    telemetry off."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    from mlflow import MlflowClient

    if settings.tracking_uri.startswith(SQLITE_PREFIX):
        Path(settings.tracking_uri.removeprefix(SQLITE_PREFIX)).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def register_version(settings: RegistrySettings, source: str, run_id: str | None = None, alias: str | None = None,
                     tags: Mapping[str, str] | None = None) -> str:
    """Register the artifact folder `source` (a run's artifact URI) as a new version of the registered model and
    point `alias` (default: the candidate alias) at it. Returns the version number as a string."""
    from mlflow.exceptions import MlflowException

    client = mlflow_client(settings)
    name = settings.registered_model
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name)
    version = str(client.create_model_version(name, source=source, run_id=run_id, tags=dict(tags or {})).version)
    alias_name = alias or settings.candidate_alias
    client.set_registered_model_alias(name, alias_name, version)
    logger.info("registered %s version %s as @%s", name, version, alias_name)
    return version


def set_alias(settings: RegistrySettings, version: str, alias: str) -> None:
    """Point `alias` (e.g. "production") of the registered model at `version`."""
    mlflow_client(settings).set_registered_model_alias(settings.registered_model, alias, version)
    logger.info("%s version %s is now @%s", settings.registered_model, version, alias)


def alias_version(settings: RegistrySettings, alias: str) -> str | None:
    """The version `alias` points at; None when the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return str(mlflow_client(settings).get_model_version_by_alias(settings.registered_model, alias).version)
    except MlflowException:
        return None


def set_version_tags(settings: RegistrySettings, version: str, tags: Mapping[str, str]) -> None:
    """Tags on one version (lineage: the request, data and metrics it came from, its parent version)."""
    client = mlflow_client(settings)
    for key, value in tags.items():
        client.set_model_version_tag(settings.registered_model, version, key, value)


def version_tags(settings: RegistrySettings, version: str) -> dict[str, str]:
    return dict(mlflow_client(settings).get_model_version(settings.registered_model, version).tags)


def find_versions(settings: RegistrySettings, tags: Mapping[str, str]) -> list[str]:
    """Versions of the registered model that carry every one of `tags`, oldest first."""
    # Filtered here rather than in the search string: tag keys with dots need quoting that differs by store.
    found = mlflow_client(settings).search_model_versions(f"name='{settings.registered_model}'")
    matching = [found_version for found_version in found
                if all(found_version.tags.get(key) == value for key, value in tags.items())]
    return sorted((str(found_version.version) for found_version in matching), key=int)


def bundle_uri(reference: str, settings: RegistrySettings) -> str:
    """`models:/...` unchanged; a bare alias becomes `models:/<registered_model>@<alias>`."""
    if reference.startswith(MODEL_URI_PREFIX):
        return reference
    return f"{MODEL_URI_PREFIX}{settings.registered_model}@{reference}"


def served_alias(reference: str, settings: RegistrySettings) -> tuple[str, str] | None:
    """(registered model, alias) a serving reference follows; None for a local directory or a fixed version."""
    if Path(reference).is_dir():
        return None
    name, alias, _ = _parse_model_uri(bundle_uri(reference, settings))
    return (name, alias) if alias is not None else None


def _parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """`models:/name@alias` or `models:/name/version` -> (name, alias, version)."""
    body = uri.removeprefix(MODEL_URI_PREFIX)
    if "@" in body:
        name, alias = body.rsplit("@", 1)
        return name, alias, None
    name, _, version = body.rpartition("/")
    if not name or not version:
        raise ValueError(f"cannot read model URI {uri!r}: expected models:/<name>@<alias> or models:/<name>/<version>")
    return name, None, version


@dataclass(frozen=True)
class ResolvedBundle:
    path: Path
    version: str  # "<registered model>/<version>" from the registry, "local:<directory>" otherwise


def resolve_bundle_dir(reference: str, settings: RegistrySettings, destination: Path | None = None) -> Path:
    return resolve_bundle(reference, settings, destination).path


def resolve_bundle(reference: str, settings: RegistrySettings, destination: Path | None = None) -> ResolvedBundle:
    local = Path(reference)
    if local.is_dir():
        return ResolvedBundle(local, f"local:{local.resolve().name}")
    client = mlflow_client(settings)
    import mlflow.artifacts

    uri = bundle_uri(reference, settings)
    name, alias, version = _parse_model_uri(uri)
    if alias is not None:
        model_version = client.get_model_version_by_alias(name, alias)
    else:
        model_version = client.get_model_version(name, str(version))
    target = destination or Path(tempfile.mkdtemp(prefix="actionstream-bundle-"))
    target.mkdir(parents=True, exist_ok=True)
    source = client.get_model_version_download_uri(name, model_version.version)
    path = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(target),
                                                    tracking_uri=settings.tracking_uri))
    # DEBUG: every process that serves the bundle logs which version it serves; the download path is detail.
    logger.debug("resolved %s (version %s) to %s", uri, model_version.version, path)
    return ResolvedBundle(path, f"{name}/{model_version.version}")
