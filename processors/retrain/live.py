"""Live figures of one model version, from what the drift job reports and what shadow runs record: the mean
label-free accuracy estimate over recent windows and the observed accuracy of labelled windows, each with the
standard error the rollback and shadow rules need. Pure and serialisable (a process saves it with its state)."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from streams.schemas import LiveComparison


class CameraLabels(BaseModel):
    labels: int = Field(0, ge=0)
    accuracy: float = 0.0


class LiveFigures(BaseModel):
    estimates: list[float] = Field(default_factory=list, description="Per-window estimates, oldest first.")
    cameras: dict[str, CameraLabels] = Field(default_factory=dict, description="camera -> its latest observed "
                                             "accuracy (the drift job reports it over the camera's recent labels).")

    def add_estimate(self, estimate: float, keep: int) -> None:
        self.estimates = [*self.estimates, estimate][-keep:]

    def set_observed(self, camera: str, labels: int, accuracy: float) -> None:
        self.cameras[camera] = CameraLabels(labels=labels, accuracy=accuracy)

    @property
    def windows(self) -> int:
        return len(self.estimates)

    @property
    def estimated(self) -> float | None:
        return sum(self.estimates) / len(self.estimates) if self.estimates else None

    @property
    def estimated_stderr(self) -> float:
        """Standard error of the mean estimate across windows (0 with fewer than two)."""
        count = len(self.estimates)
        if count < 2:
            return 0.0
        mean = sum(self.estimates) / count
        return math.sqrt(sum((value - mean) ** 2 for value in self.estimates) / (count - 1) / count)

    @property
    def labels(self) -> int:
        return sum(camera.labels for camera in self.cameras.values())

    @property
    def observed(self) -> float | None:
        """Accuracy over every camera's labelled windows (each camera weighted by its labels)."""
        labels = self.labels
        if not labels:
            return None
        return sum(camera.labels * camera.accuracy for camera in self.cameras.values()) / labels

    @property
    def observed_stderr(self) -> float:
        """Binomial standard error of the observed accuracy (0 without labels)."""
        observed = self.observed
        return math.sqrt(observed * (1.0 - observed) / self.labels) if observed is not None else 0.0


def compare(judged: LiveFigures, reference: LiveFigures, agreement: float | None = None) -> LiveComparison:
    return LiveComparison(
        windows=judged.windows, estimated_accuracy=judged.estimated, labels=judged.labels,
        observed_accuracy=judged.observed, reference_windows=reference.windows,
        reference_estimated_accuracy=reference.estimated, reference_labels=reference.labels,
        reference_observed_accuracy=reference.observed, agreement=agreement)


def significant_drop(judged_mean: float, judged_stderr: float, reference_mean: float, reference_stderr: float,
                     tolerance: float, z: float) -> float | None:
    """The drop of `judged` below `reference` when it exceeds `tolerance` by z standard errors of the
    difference (one-sided); None when it does not."""
    drop = reference_mean - judged_mean
    margin = z * math.hypot(judged_stderr, reference_stderr)
    return drop if drop - margin > tolerance else None
