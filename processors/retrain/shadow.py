"""Judging a candidate's shadow run (pure): the windows it classified beside production, read from
`shadow-outcomes`, and the labels that reached them. Both models saw the same windows, so the figures are
paired: agreement, each model's label-free estimate (its own calibration) and observed accuracy.

The candidate passed the offline comparison already; the shadow run can only hold it back: it is refused when
its estimate, or its observed accuracy (with a minimum label count), is below production's by more than a
tolerance beyond chance. A shadow run with too few windows (no classifier running, a quiet site) decides
nothing and says so; `require_windows` makes that a refusal instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field

from processors.drift.calibration import Calibration
from processors.retrain.live import LiveFigures, compare, significant_drop
from streams.schemas import LabelScore, LiveComparison, ShadowOutcome


class ShadowSettings(BaseModel):
    duration_s: float = Field(0.0, ge=0, description="How long an accepted candidate runs in shadow on live clips "
                              "before the production alias moves (0: no shadow run).")
    alias: str = Field("shadow", description="Registry alias the classifiers shadow (their classifier.shadow_alias).")
    min_windows: int = Field(20, ge=1, description="Shadow windows needed for the run to count.")
    require_windows: bool = Field(False, description="Refuse a candidate whose shadow run saw too few windows "
                                  "(default: decide on the offline comparison alone, and say so).")
    estimated_tolerance: float = Field(0.03, ge=0, description="Largest drop of the candidate's mean label-free "
                                       "estimate below production's on the same windows.")
    observed_tolerance: float = Field(0.03, ge=0, description="Largest drop of observed accuracy on labelled "
                                      "shadow windows.")
    min_labels: int = Field(20, ge=1, description="Labelled shadow windows needed to compare observed accuracy.")
    z: float = Field(1.645, ge=0, description="Standard errors a drop must exceed its tolerance by.")
    poll_s: float = Field(0.5, gt=0, description="Poll timeout while reading shadow outcomes and labels.")


@dataclass(frozen=True)
class ShadowFigures:
    """Both models on the shadow windows; estimates exist only for a model with a calibration."""

    windows: int
    candidate: LiveFigures
    production: LiveFigures
    agreement: float | None  # share of windows with the same label; None without windows


def _probabilities(top_k: list[LabelScore]) -> np.ndarray:
    return np.array([[score.confidence for score in top_k]], dtype=np.float64)


class ShadowTally:
    """Shadow outcomes of one candidate and the labels that joined them."""

    def __init__(self, candidate_version: str, candidate: Calibration | None, production: Calibration | None) -> None:
        self.candidate_version = candidate_version
        self.calibrations = {"candidate": candidate, "production": production}
        self.windows: dict[str, ShadowOutcome] = {}  # event id -> the shadow record (a replay counts once)
        self.truth: dict[str, str] = {}

    def add(self, outcome: ShadowOutcome) -> bool:
        """Count a record of our candidate; False for another version's."""
        if outcome.model_version != self.candidate_version:
            return False
        self.windows[outcome.event_id] = outcome
        return True

    def add_label(self, event_id: str, label: str) -> None:
        self.truth[event_id] = label

    def figures(self) -> ShadowFigures:
        candidate, production = LiveFigures(), LiveFigures()
        correct: dict[str, dict[str, list[bool]]] = {"candidate": {}, "production": {}}
        for event_id, window in self.windows.items():
            camera = f"{window.site}/{window.camera}"
            for role, figures, top_k, label in (("candidate", candidate, window.top_k, window.label),
                                                ("production", production, window.production_top_k,
                                                 window.production_label)):
                calibration = self.calibrations[role]
                if calibration is not None:
                    figures.add_estimate(float(calibration.top1(_probabilities(top_k))[0]), len(self.windows))
                if event_id in self.truth:
                    correct[role].setdefault(camera, []).append(label == self.truth[event_id])
        for role, figures in (("candidate", candidate), ("production", production)):
            for camera, hits in correct[role].items():
                figures.set_observed(camera, len(hits), float(np.mean(hits)))
        agreement = (float(np.mean([window.label == window.production_label for window in self.windows.values()]))
                     if self.windows else None)
        return ShadowFigures(len(self.windows), candidate, production, agreement)


@dataclass(frozen=True)
class ShadowVerdict:
    promote: bool
    reasons: list[str] = field(default_factory=list)  # why refused, or what the run showed
    live: LiveComparison | None = None


def judge_shadow(figures: ShadowFigures, settings: ShadowSettings, version: str) -> ShadowVerdict:
    candidate, production = figures.candidate, figures.production
    live = compare(candidate, production, figures.agreement).model_copy(update={"windows": figures.windows,
                                                                                "reference_windows": figures.windows})
    if figures.windows < settings.min_windows:
        note = f"shadow run of {version}: {figures.windows} windows, {settings.min_windows} needed"
        if settings.require_windows:
            return ShadowVerdict(False, [f"{note}; refused (shadow windows required)"], live)
        return ShadowVerdict(True, [f"{note}; decided on the offline comparison"], live)
    refusals = []
    if candidate.estimated is not None and production.estimated is not None:
        drop = significant_drop(candidate.estimated, candidate.estimated_stderr, production.estimated,
                                production.estimated_stderr, settings.estimated_tolerance, settings.z)
        if drop is not None:
            refusals.append(f"in shadow, label-free estimate {candidate.estimated:.3f} vs production "
                            f"{production.estimated:.3f} on the same {candidate.windows} windows: a drop of "
                            f"{drop:.3f}, more than {settings.estimated_tolerance:.3f} beyond chance")
    if _labelled_enough(candidate, production, settings) and candidate.observed is not None and (
            production.observed is not None):
        drop = significant_drop(candidate.observed, candidate.observed_stderr, production.observed,
                                production.observed_stderr, settings.observed_tolerance, settings.z)
        if drop is not None:
            refusals.append(f"in shadow, observed accuracy {candidate.observed:.3f} vs production "
                            f"{production.observed:.3f} on {candidate.labels} labelled windows: a drop of "
                            f"{drop:.3f}, more than {settings.observed_tolerance:.3f} beyond chance")
    if refusals:
        return ShadowVerdict(False, refusals, live)
    return ShadowVerdict(True, [_summary(live)], live)


def _labelled_enough(candidate: LiveFigures, production: LiveFigures, settings: ShadowSettings) -> bool:
    return min(candidate.labels, production.labels) >= settings.min_labels


def _summary(live: LiveComparison) -> str:
    def figure(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    return (f"shadow run: {live.windows} windows, agreement {figure(live.agreement)}, estimate "
            f"{figure(live.estimated_accuracy)} vs production {figure(live.reference_estimated_accuracy)}, observed "
            f"{figure(live.observed_accuracy)} vs {figure(live.reference_observed_accuracy)} on {live.labels} labels")
