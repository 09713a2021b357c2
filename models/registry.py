"""Find a model bundle: a local directory, a registry alias (`candidate`, `production`) or a `models:/` URI.

Serving and the CLIs resolve bundles here; MLflow is imported only when a registry lookup is needed.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

logger = logging.getLogger(__name__)

MODEL_URI_PREFIX = "models:/"


class RegistrySettings(BaseModel):
    tracking_uri: str = Field("sqlite:///var/mlflow/mlflow.db", description="MLflow tracking and registry URI.")
    registered_model: str = Field("actionstream-smart", description="Registered model name.")


def bundle_uri(reference: str, settings: RegistrySettings) -> str:
    """`models:/...` unchanged; a bare alias becomes `models:/<registered_model>@<alias>`."""
    if reference.startswith(MODEL_URI_PREFIX):
        return reference
    return f"{MODEL_URI_PREFIX}{settings.registered_model}@{reference}"


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
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    import mlflow.artifacts
    from mlflow import MlflowClient

    uri = bundle_uri(reference, settings)
    name, alias, version = _parse_model_uri(uri)
    # Resolve through an explicit client: the registry lookup must use our URI, not a process-global default.
    client = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    if alias is not None:
        model_version = client.get_model_version_by_alias(name, alias)
    else:
        model_version = client.get_model_version(name, str(version))
    target = destination or Path(tempfile.mkdtemp(prefix="actionstream-bundle-"))
    target.mkdir(parents=True, exist_ok=True)
    source = client.get_model_version_download_uri(name, model_version.version)
    path = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(target),
                                                    tracking_uri=settings.tracking_uri))
    logger.info("resolved %s (version %s) to %s", uri, model_version.version, path)
    return ResolvedBundle(path, f"{name}/{model_version.version}")
