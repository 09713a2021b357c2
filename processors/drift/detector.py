"""One drift window of one camera against a reference profile: the vectorised hot path.

Three verdict families, each with its own false-alarm budget: data drift (Evidently's dataset rule on the
quality columns), embedding drift (PCA + MMD permutation test on X_i) and prediction drift (action mix and
confidence). A window is drifted when any family is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from processors.drift.embedding import EmbeddingDrift, mmd_drift
from processors.drift.profile import ReferenceProfile
from processors.drift.sample import WindowSample
from processors.drift.settings import DriftSettings
from processors.drift.stattests import ColumnDrift, categorical_drift, counts_of, numerical_drift

Verdict = Literal["ok", "drift", "insufficient"]
DriftCause = Literal["data_drift", "embedding_drift", "prediction_drift"]
LABEL_COLUMN, CONFIDENCE_COLUMN = "label", "confidence"


@dataclass(frozen=True)
class WindowDrift:
    frames: int
    outcomes: int
    quality: list[ColumnDrift]
    prediction: list[ColumnDrift]  # empty when the window had too few outcomes
    embedding: EmbeddingDrift | None  # None when the window had too few frames
    share_drifted: float  # of the quality columns
    estimated_accuracy: float | None  # None without a calibration or outcomes
    causes: list[DriftCause]
    verdict: Verdict

    @property
    def drifted_columns(self) -> list[str]:
        return [column.column for column in [*self.quality, *self.prediction] if column.drifted]


def assess(profile: ReferenceProfile, window: WindowSample, settings: DriftSettings) -> WindowDrift:
    sample = window.thinned(settings.max_frames)
    enough_frames = sample.frames >= settings.min_frames
    quality = [
        numerical_drift(column, profile.quality[column], sample.quality[column], settings.threshold(column))
        for column in settings.quality_columns
    ] if enough_frames else []
    embedding = mmd_drift(
        profile.projected, profile.projection(sample.embeddings), settings.embedding.permutations,
        settings.embedding.alpha, settings.embedding.seed,
    ) if enough_frames else None
    prediction = [
        categorical_drift(LABEL_COLUMN, profile.label_counts, counts_of(sample.labels),
                          settings.threshold(LABEL_COLUMN)),
        numerical_drift(CONFIDENCE_COLUMN, profile.confidence, sample.confidence,
                        settings.threshold(CONFIDENCE_COLUMN)),
    ] if len(sample.labels) >= settings.min_outcomes else []

    share = sum(column.drifted for column in quality) / len(quality) if quality else 0.0
    causes: list[DriftCause] = []
    if quality and share >= settings.drift_share:
        causes.append("data_drift")
    if embedding is not None and embedding.drifted:
        causes.append("embedding_drift")
    if any(column.drifted for column in prediction):
        causes.append("prediction_drift")
    verdict: Verdict = "drift" if causes else ("ok" if enough_frames else "insufficient")
    estimate = (profile.calibration.expected_accuracy(sample.top_k)
                if profile.calibration is not None and len(sample.labels) else None)
    return WindowDrift(sample.frames, len(sample.labels), quality, prediction, embedding, share, estimate, causes,
                       verdict)
