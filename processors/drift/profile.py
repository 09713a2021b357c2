"""A reference profile: what a window is compared with. The model's training profile is built at training
time and stored in the bundle; a per-camera baseline has the same shape, built from the camera's own frames
after it goes live or after a promotion. Stored as profile.json (metadata, counts, calibration) beside
profile.npz (samples, PCA)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from processors.drift.calibration import Calibration
from processors.drift.embedding import Projection
from processors.drift.sample import WindowSample
from processors.drift.settings import DriftSettings
from processors.drift.stattests import counts_of

ProfileKind = Literal["training", "camera"]
PROFILE_FORMAT = 1
JSON_NAME, ARRAYS_NAME = "profile.json", "profile.npz"


def _subsample(rng: np.random.Generator, size: int, keep: int) -> np.ndarray:
    return np.sort(rng.choice(size, keep, replace=False)) if size > keep else np.arange(size)


@dataclass(frozen=True)
class ReferenceProfile:
    kind: ProfileKind
    name: str  # model version for a training profile, site/camera@time for a baseline
    quality: dict[str, np.ndarray]  # column -> [m], a sample of frames
    embeddings: np.ndarray  # [m, D] X_i of the same frames (float16)
    projection: Projection
    label_counts: dict[str, int]  # prediction mix of a sample of windows
    confidence: np.ndarray  # top-1 confidences of a sample of windows
    calibration: Calibration | None = None

    @classmethod
    def build(cls, kind: ProfileKind, name: str, data: WindowSample, settings: DriftSettings,
              calibration: Calibration | None = None, seed: int = 0) -> ReferenceProfile:
        """Samples capped at the settings' reference sizes (a random subset: references are small on purpose)."""
        if data.frames < 2 or not data.labels:
            raise ValueError(f"a profile needs frames and window outcomes, got {data.frames} and {len(data.labels)}")
        rng = np.random.default_rng(seed)
        frames = _subsample(rng, data.frames, settings.reference_frames)
        outcomes = _subsample(rng, len(data.labels), settings.reference_outcomes)
        embeddings = data.embeddings[frames].astype(np.float16)
        return cls(
            kind=kind, name=name,
            quality={column: np.asarray(values, dtype=float)[frames] for column, values in data.quality.items()},
            embeddings=embeddings,
            projection=Projection.fit(embeddings.astype(np.float32), settings.embedding.pca_components),
            label_counts=counts_of(data.labels[index] for index in outcomes),
            confidence=data.confidence[outcomes],
            calibration=calibration,
        )

    @cached_property
    def projected(self) -> np.ndarray:
        """The reference embeddings in PCA space, computed once per profile rather than per window."""
        return self.projection(self.embeddings)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": PROFILE_FORMAT, "kind": self.kind, "name": self.name, "quality_columns": list(self.quality),
            "label_counts": self.label_counts,
            "calibration": self.calibration.to_dict() if self.calibration else None,
        }
        (directory / JSON_NAME).write_text(json.dumps(meta, indent=2))
        arrays: dict[str, Any] = {
            "embeddings": self.embeddings.astype(np.float16), "confidence": self.confidence,
            "pca_mean": self.projection.mean, "pca_components": self.projection.components,
            **{f"quality_{column}": values for column, values in self.quality.items()},
        }
        np.savez_compressed(directory / ARRAYS_NAME, **arrays)

    @classmethod
    def load(cls, directory: Path) -> ReferenceProfile:
        meta = json.loads((directory / JSON_NAME).read_text())
        if meta.get("format") != PROFILE_FORMAT:
            raise ValueError(f"{directory}: unsupported profile format {meta.get('format')!r}")
        with np.load(directory / ARRAYS_NAME) as arrays:
            return cls(
                kind=meta["kind"], name=meta["name"],
                quality={column: arrays[f"quality_{column}"] for column in meta["quality_columns"]},
                embeddings=arrays["embeddings"],
                projection=Projection(arrays["pca_mean"], arrays["pca_components"]),
                label_counts={str(key): int(value) for key, value in meta["label_counts"].items()},
                confidence=arrays["confidence"],
                calibration=Calibration.from_dict(meta["calibration"]) if meta["calibration"] else None,
            )
