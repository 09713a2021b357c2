"""The model side of the drift job: for a model version seen in outcomes, its classes (labels are checked
against them) and its training profile from the bundle. Bundles trained before profiles existed have none:
the job then compares cameras with their own baselines only, and says so once per version."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from models.bundle import DRIFT_PROFILE_DIR, MANIFEST_FILE
from models.registry import MODEL_URI_PREFIX, resolve_bundle
from processors.drift.profile import ReferenceProfile
from processors.settings import ServingModelSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelReference:
    version: str
    classes: list[str]
    profile: ReferenceProfile | None  # the training profile; None for older bundles


class ModelCatalog(Protocol):
    def reference(self, version: str | None) -> ModelReference:
        """The model of this version; None: the configured one."""
        ...


def read_reference(directory: Path, version: str) -> ModelReference:
    classes = [str(name) for name in json.loads((directory / MANIFEST_FILE).read_text())["classes"]]
    profile_dir = directory / DRIFT_PROFILE_DIR
    if not profile_dir.is_dir():
        logger.info("model %s has no training profile (a bundle from before profiles): drift is checked against "
                    "per-camera baselines only", version)
        return ModelReference(version, classes, None)
    # Named after the version it belongs to: reports name their reference, and a bundle cannot know its own.
    return ModelReference(version, classes, replace(ReferenceProfile.load(profile_dir), name=version))


class BundleCatalog:
    """Resolves versions through the registry (`<name>/<version>`) or the configured local bundle, once each."""

    def __init__(self, settings: ServingModelSettings) -> None:
        self.settings = settings
        self._known: dict[str, ModelReference] = {}
        self._default = self._resolve(settings.reference)
        self._known[self._default.version] = self._default

    def _resolve(self, reference: str) -> ModelReference:
        self.settings.download_dir.mkdir(parents=True, exist_ok=True)
        resolved = resolve_bundle(reference, self.settings.registry,
                                  self.settings.download_dir / f"drift-bundle-{time.time_ns()}")
        return read_reference(resolved.path, resolved.version)

    def reference(self, version: str | None) -> ModelReference:
        if version is None:
            return self._default
        known = self._known.get(version)
        if known is not None:
            return known
        try:
            if version.startswith("local:"):
                raise ValueError("a local bundle other than the configured one cannot be found")
            found = self._resolve(f"{MODEL_URI_PREFIX}{version}")
        except Exception as error:  # a registry hiccup must not stop the job; the version stays profile-less
            logger.warning("model %s: no training profile (%s); its cameras are checked against their baselines",
                           version, error)
            found = ModelReference(version, self._default.classes, None)
        self._known[version] = found
        return found
