"""One drift window of one camera against a reference profile: the vectorised hot path.

Three verdict families, each with its own false-alarm budget: data drift (Evidently's dataset rule on the
quality columns), embedding drift (PCA + MMD permutation test on X_i) and prediction drift (action mix and
confidence). A window is drifted when any family is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import numpy as np

from processors.drift.calibration import ObservedPerformance
from processors.drift.embedding import EmbeddingDrift, mmd_drift
from processors.drift.profile import ReferenceProfile
from processors.drift.sample import WindowSample
from processors.drift.settings import DriftSettings
from processors.drift.stattests import ColumnDrift, categorical_drift, counts_of, numerical_drift
from streams.schemas import ColumnScore, DriftReport

Verdict = Literal["ok", "drift", "insufficient"]
DriftCause = Literal["data_drift", "embedding_drift", "prediction_drift"]
LABEL_COLUMN, CONFIDENCE_COLUMN = "label", "confidence"
# A report id is a pure function of what defines the window, so a replayed window keeps its id.
REPORT_ID_NAMESPACE = uuid.UUID("3b6f0c52-8e1d-4f7a-b2c9-5d0e4a7f91c3")


@dataclass(frozen=True)
class WindowDrift:
    frames: int
    outcomes: int
    quality: list[ColumnDrift]
    prediction: list[ColumnDrift]  # empty when the window had too few outcomes
    embedding: EmbeddingDrift | None  # None when the window had too few frames
    share_drifted: float  # of the quality columns
    estimated_accuracy: float | None  # None without a calibration or outcomes
    estimated_stderr: float | None  # of that mean over the window's outcomes; None with fewer than two
    causes: list[DriftCause]
    verdict: Verdict

    @property
    def drifted_columns(self) -> list[str]:
        return [column.column for column in [*self.quality, *self.prediction] if column.drifted]

    def report(self, *, site: str, camera: str, window_start: float, window_end: float,
               profile: ReferenceProfile, model_version: str, observed: ObservedPerformance | None,
               reference_observed: ObservedPerformance | None, published_at: float) -> DriftReport:
        """The drift-reports event of this window; observed figures come from labels joined so far, the
        reference's own (`reference_observed`) from the labels of its windows."""
        calibration = profile.calibration
        return DriftReport(
            report_id=str(uuid.uuid5(REPORT_ID_NAMESPACE, f"{site}/{camera}/{window_start:.3f}/{profile.name}")),
            site=site, camera=camera, reference=profile.name, reference_kind=profile.kind,
            window_start=window_start, window_end=window_end, frames=self.frames, outcomes=self.outcomes,
            scores=[ColumnScore(column=column.column, test=column.test, score=column.score,
                                threshold=column.threshold, drifted=column.drifted)
                    for column in [*self.quality, *self.prediction]],
            drifted_columns=self.drifted_columns, share_drifted=self.share_drifted,
            embedding_mmd2=self.embedding.score if self.embedding else None,
            embedding_p_value=self.embedding.p_value if self.embedding else None,
            estimated_accuracy=self.estimated_accuracy, estimated_accuracy_stderr=self.estimated_stderr,
            reference_accuracy=calibration.accuracy if calibration else None,
            observed_accuracy=observed.accuracy if observed else None,
            observed_macro_f1=observed.macro_f1 if observed else None,
            labels=observed.labels if observed else 0,
            reference_observed_accuracy=reference_observed.accuracy if reference_observed else None,
            reference_labels=reference_observed.labels if reference_observed else 0,
            causes=list(self.causes), verdict=self.verdict, model_version=model_version, published_at=published_at,
        )


def assess(profile: ReferenceProfile, window: WindowSample, settings: DriftSettings) -> WindowDrift:
    sample = window.thinned(settings.max_frames)
    enough_frames = sample.frames >= settings.min_frames
    quality = [
        numerical_drift(column, profile.quality[column], sample.quality[column], settings.threshold(column))
        for column in settings.quality_columns
    ] if enough_frames else []
    embedding = mmd_drift(
        profile.projected, profile.projection(sample.embeddings), settings.embedding.permutations,
        settings.embedding.alpha, settings.embedding.seed, settings.embedding.block_frames,
    ) if enough_frames else None
    prediction = [
        categorical_drift(LABEL_COLUMN, profile.label_counts, counts_of(sample.labels),
                          settings.threshold(LABEL_COLUMN), two_sample=settings.label_two_sample),
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
    estimate, stderr = _estimate(profile, sample)
    return WindowDrift(sample.frames, len(sample.labels), quality, prediction, embedding, share, estimate, stderr,
                       causes, verdict)


def _estimate(profile: ReferenceProfile, sample: WindowSample) -> tuple[float | None, float | None]:
    """The label-free accuracy estimate and its standard error: a window holds a few outcomes only, so the
    policy needs to know how far chance alone moves the estimate."""
    if profile.calibration is None or not len(sample.labels):
        return None, None
    top1 = profile.calibration.top1(sample.top_k)
    stderr = float(top1.std(ddof=1) / np.sqrt(top1.size)) if top1.size >= 2 else None
    return float(top1.mean()), stderr
