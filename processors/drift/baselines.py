"""Per-camera baselines: the camera's own first windows after it goes live or after its model version changes,
as a reference profile (has this camera changed?). Saved under the state folder, so a restarted job keeps
comparing with the same baseline instead of capturing one from a camera that may have drifted meanwhile."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from processors.drift.calibration import Calibration
from processors.drift.profile import ReferenceProfile
from processors.drift.sample import WindowSample
from processors.drift.settings import DriftSettings

logger = logging.getLogger(__name__)
META_NAME = "baseline.json"


@dataclass
class _Capture:
    model_version: str
    windows: list[WindowSample] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0


@dataclass(frozen=True)
class BaselineSpan:
    """The drift windows a baseline was captured from: their labelled windows are its observed accuracy."""

    start: float
    end: float


def camera_calibration(calibration: Calibration | None, baseline: WindowSample) -> Calibration | None:
    """The model's calibration with the camera's own label-free estimate over its baseline as the accuracy that
    drops are measured from: a camera stably harder than the validation data is not an accuracy drop (measured
    from the validation accuracy, unshifted demo cameras raised requests every window)."""
    if calibration is None:
        return None
    return replace(calibration, accuracy=calibration.expected_accuracy(baseline.top_k))


class Baselines:
    def __init__(self, settings: DriftSettings, windows_needed: int, outcomes_needed: int, directory: Path) -> None:
        self.settings = settings
        self.windows_needed = windows_needed
        self.outcomes_needed = outcomes_needed
        self.directory = directory
        # site/camera -> (model version, baseline, its span; None for one saved before spans were)
        self._profiles: dict[str, tuple[str, ReferenceProfile, BaselineSpan | None]] = {}
        self._captures: dict[str, _Capture] = {}

    def _path(self, key: str) -> Path:
        return self.directory / key.replace("/", "__")

    def get(self, site: str, camera: str, model_version: str) -> ReferenceProfile | None:
        """The camera's baseline for this model version (None while it is being captured)."""
        key = f"{site}/{camera}"
        held = self._held(key, model_version)
        return held[1] if held is not None else None

    def span(self, site: str, camera: str, model_version: str) -> BaselineSpan | None:
        """The drift windows the camera's baseline for this model version was captured from."""
        held = self._held(f"{site}/{camera}", model_version)
        return held[2] if held is not None else None

    def _held(self, key: str, model_version: str) -> tuple[str, ReferenceProfile, BaselineSpan | None] | None:
        if key not in self._profiles and (self._path(key) / META_NAME).exists():
            meta = json.loads((self._path(key) / META_NAME).read_text())
            span = BaselineSpan(meta["start"], meta["end"]) if "end" in meta else None
            self._profiles[key] = (meta["model_version"], ReferenceProfile.load(self._path(key)), span)
        held = self._profiles.get(key)
        return held if held is not None and held[0] == model_version else None

    def reset(self) -> None:
        """Forget every camera's baseline and capture: the next windows make new ones."""
        self._profiles.clear()
        self._captures.clear()
        shutil.rmtree(self.directory, ignore_errors=True)
        logger.info("camera baselines reset: captured again from the next windows")

    def offer(self, site: str, camera: str, model_version: str, start: float, end: float, window: WindowSample,
              calibration: Calibration | None, served_by: set[str]) -> ReferenceProfile | None:
        """Takes a window of a camera without a baseline for this model version; returns the baseline once
        enough windows with frames and outcomes came, and enough outcomes in all. It borrows the model's
        calibration, so reports against it carry the label-free estimate too (see camera_calibration).

        Only a window that `model_version` alone served (`served_by`: the versions of its frames and outcomes)
        is taken: stage 1's delta and X_i come from the model, so the window of a switch mixes two models' values.
        A demo baseline captured from such a window made every unshifted camera drift on delta after a promotion."""
        key = f"{site}/{camera}"
        if (served_by != {model_version} or window.frames < self.settings.min_frames
                or len(window.labels) < self.settings.min_outcomes):
            return None
        capture = self._captures.get(key)
        if capture is None or capture.model_version != model_version:
            capture = self._captures[key] = _Capture(model_version, start=start)
        capture.windows.append(window)
        capture.end = end
        if (len(capture.windows) < self.windows_needed
                or sum(len(sample.labels) for sample in capture.windows) < self.outcomes_needed):
            return None
        del self._captures[key]
        captured = WindowSample.concat(capture.windows)
        profile = ReferenceProfile.build("camera", f"{key}@{capture.start:.0f}", captured, self.settings,
                                         camera_calibration(calibration, captured))
        path = self._path(key)
        shutil.rmtree(path, ignore_errors=True)
        profile.save(path)
        span = BaselineSpan(capture.start, capture.end)
        (path / META_NAME).write_text(json.dumps({"model_version": model_version, "start": span.start,
                                                  "end": span.end}))
        self._profiles[key] = (model_version, profile, span)
        logger.info("baseline of camera %s captured for model %s from %d windows from %.0f", key, model_version,
                    len(capture.windows), capture.start)
        return profile
