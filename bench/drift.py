"""`actionstream bench drift`: detection delay of known shifts, false alarms on unshifted control cameras,
the label-free estimate's error and the drift CPU cost, on the real per-window path.

A bench-trained small classifier (softmax regression on the clip's mean X_i, cached with the clips) stands in
for the served model. Per camera window: frames -> X_i + quality stats -> outcomes (label, top-k) ->
`WindowSample` -> `assess` against the training profile and against the camera's baseline (its first
windows) -> `DriftReport` -> the camera's `RetrainPolicy`. A camera looks at one scene (its background and
sensor noise drawn from the family once) while actions, distractors and lighting vary clip by clip, so it is
stable but unlike the training data as a whole. Shifted cameras run a few windows unshifted, then their shift
starts a known number of clips into a window. Control cameras render a pool of clips once; each
control window is a random draw of clips from its camera's pool (never from its baseline), so many windows
cost no encoding, at the price of windows that share clips.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field

from bench.drift_data import (
    CAMERA_STREAM,
    DRAW_STREAM,
    QUALITY_COLUMNS,
    ClipCache,
    ClipSet,
    ClipSpec,
    DataSettings,
    camera_scene,
    training_specs,
)
from processors.drift.baselines import camera_calibration
from processors.drift.calibration import Calibration, fit_temperature
from processors.drift.detector import assess
from processors.drift.policy import PolicySettings, RetrainPolicy
from processors.drift.profile import ReferenceProfile
from processors.drift.sample import WindowSample
from processors.drift.settings import DriftSettings
from training.synth_actions import action_kinds
from training.synth_shifts import SHIFT_KINDS, ShiftKind, action_mix, weakest_classes

MODEL_VERSION = "bench-drift"
SHIFTED_CAMERA_BASE = 100  # shifted cameras' ids start here, control cameras' at 0


class DriftBenchSettings(BaseModel):
    data: DataSettings = Field(default_factory=DataSettings)
    drift: DriftSettings = Field(default_factory=lambda: DriftSettings(quality_columns=list(QUALITY_COLUMNS)),
                                 description="The job's defaults, less `delta` (the bench model has no SMART "
                                 "selector to score delta_i).")
    policy: PolicySettings = Field(default_factory=PolicySettings)
    cameras: int = Field(4, ge=1, description="Unshifted control cameras.")
    windows: int = Field(250, ge=1, description="Monitored windows per control camera.")
    pool_windows: int = Field(10, ge=1, description="Distinct clips rendered per control camera, in windows' "
                              "worth; its monitored windows are drawn from them.")
    baseline_windows: int = Field(3, ge=1, description="A camera's first windows: its baseline.")
    pre_shift_windows: int = Field(2, ge=0, description="Unshifted windows a shifted camera is monitored first.")
    post_shift_windows: int = Field(10, ge=1, description="Windows from the one the shift starts in: a shift not "
                                    "alerted on by then is missed.")
    shift_offset_clips: int = Field(7, ge=0, description="The shift starts this many clips into its window.")
    top_k: int = Field(3, ge=1, description="Probabilities an outcome carries (the classifier's default).")
    regularisation: float = Field(1.0, gt=0, description="Inverse L2 strength of the bench classifier.")
    seed: int = Field(0, description="Seed of every clip, draw and permutation.")


class ClipClassifier:
    """Softmax regression on a clip's X_i max-pooled over its frames: the action shows in about one frame of
    four, which a mean over frames dilutes (0.39 validation accuracy with the mean, 0.91 with the max)."""

    def __init__(self, train: ClipSet, regularisation: float) -> None:
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=regularisation, max_iter=2000)
        self.model.fit(_pooled(train), train.labels)

    def probabilities(self, clips: ClipSet) -> np.ndarray:
        return self.model.predict_proba(_pooled(clips))


def _pooled(clips: ClipSet) -> np.ndarray:
    return clips.embeddings.astype(np.float32).max(axis=1)


def window_sample(clips: ClipSet, probabilities: np.ndarray, classes: list[str], top_k: int) -> WindowSample:
    """What the drift job sees of these clips: every frame's quality and X_i, every clip's outcome."""
    frames = clips.quality.reshape(-1, len(QUALITY_COLUMNS))
    ranked = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k]
    quality = {column: frames[:, index].astype(float) for index, column in enumerate(QUALITY_COLUMNS)}
    return WindowSample(quality=quality, embeddings=clips.embeddings.reshape(len(frames), -1),
                        labels=[classes[index] for index in ranked[:, 0]],
                        top_k=np.take_along_axis(probabilities, ranked, axis=1))


@dataclass(frozen=True)
class WindowRecord:
    """One monitored camera window, as the accounting needs it."""

    start_s: float
    end_s: float
    raw_drift: bool  # verdict against the camera baseline (what the policy acts on)
    raw_drift_training: bool  # verdict against the training profile
    alert: bool  # the policy published a retrain request
    crossing: bool  # a cause held k of m windows (an alert, or one held back by cool-down or an open request)
    estimate: float | None
    correct: int
    outcomes: int
    cpu_ms: float
    alert_causes: tuple[str, ...] = ()  # causes of the requests published on this window


@dataclass(frozen=True)
class ShiftRun:
    kind: ShiftKind
    start_s: float
    records: list[WindowRecord]
    accuracy_unshifted: float  # on the shifted clips' unshifted twins
    accuracy_shifted: float


def first_detection(records: list[WindowRecord], start_s: float, *, alert: bool) -> tuple[int, float] | None:
    """(windows, seconds) from the shift start to the end of the first window that alerts (or whose raw verdict
    is drift): 1 window when the window the shift starts in already does."""
    after = [record for record in records if record.end_s > start_s]
    for count, record in enumerate(after, start=1):
        if record.alert if alert else record.raw_drift:
            return count, record.end_s - start_s
    return None


def summarize(controls: list[WindowRecord], shifts: list[ShiftRun], estimate_abs_error: float) -> dict[str, object]:
    """The bench's JSON line; a shift missed within its windows has null delays."""
    detections = {run.kind: first_detection(run.records, run.start_s, alert=True) for run in shifts}
    every = [record for run in shifts for record in run.records] + controls
    return {
        "bench": "drift",
        "delay_windows": {kind: found[0] if found else None for kind, found in detections.items()},
        "delay_s": {kind: round(found[1], 1) if found else None for kind, found in detections.items()},
        "raw_false_positive_rate": round(float(np.mean([record.raw_drift for record in controls])), 4),
        "false_alarms_per_1000_windows": round(1000.0 * sum(record.alert for record in controls) / len(controls), 2),
        "estimate_abs_error": round(estimate_abs_error, 4),
        "drift_ms_per_camera_window": round(float(np.mean([record.cpu_ms for record in every])), 2),
    }


@dataclass
class Camera:
    """One monitored camera: its baseline profile and its own policy (a site of its own, so that no camera's
    request holds another's back)."""

    name: str
    baseline: ReferenceProfile
    policy: RetrainPolicy
    records: list[WindowRecord] = field(default_factory=list)


class DriftBench:
    def __init__(self, settings: DriftBenchSettings, cache: ClipCache) -> None:
        self.settings = settings
        self.cache = cache
        data = settings.data
        self.classes = data.synth.class_names
        train = cache.get("train", training_specs(data, validation=False))
        self.validation = cache.get("validation", training_specs(data, validation=True))
        self.classifier = ClipClassifier(train, settings.regularisation)
        probabilities = self.classifier.probabilities(self.validation)
        # Log-probabilities as logits: temperature scaling of a softmax model's probabilities is the same.
        self.calibration: Calibration = fit_temperature(np.log(np.clip(probabilities, 1e-12, 1.0)),
                                                        self.validation.labels)
        validation = window_sample(self.validation, probabilities, self.classes, settings.top_k)
        self.training = ReferenceProfile.build("training", MODEL_VERSION, validation, settings.drift,
                                               self.calibration, settings.seed)
        correct = probabilities.argmax(axis=1) == self.validation.labels
        favoured = weakest_classes(correct, self.validation.labels, data.synth.num_classes, data.shifts.mix_classes)
        unseen = len(action_kinds()) - data.synth.num_classes
        self.mix = action_mix(data.synth.num_classes, favoured, data.shifts.mix_share, unseen,
                              data.shifts.new_actions_share)
        self.clip_s = data.synth.seconds
        self.clips_per_window = max(1, round(settings.drift.window_s / self.clip_s))

    @property
    def baseline_clips(self) -> int:
        return self.settings.baseline_windows * self.clips_per_window

    def _camera(self, name: str, baseline: ClipSet) -> Camera:
        sample = window_sample(baseline, self.classifier.probabilities(baseline), self.classes, self.settings.top_k)
        profile = ReferenceProfile.build("camera", f"{name}/{name}@0", sample, self.settings.drift,
                                         camera_calibration(self.calibration, sample), self.settings.seed)
        return Camera(name, profile, RetrainPolicy(self.settings.policy))

    def _observe(self, camera: Camera, clips: ClipSet, start_s: float) -> None:
        settings = self.settings
        probabilities = self.classifier.probabilities(clips)
        end_s = start_s + len(clips) * self.clip_s
        began = time.process_time()
        sample = window_sample(clips, probabilities, self.classes, settings.top_k)
        alert = crossing = raw = raw_training = False
        estimate: float | None = None
        causes: tuple[str, ...] = ()
        for profile in (self.training, camera.baseline):
            drift = assess(profile, sample, settings.drift)
            report = drift.report(site=camera.name, camera=camera.name, window_start=start_s, window_end=end_s,
                                  profile=profile, model_version=MODEL_VERSION, observed=None,
                                  reference_observed=None, published_at=end_s)
            decision = camera.policy.observe(report, now=end_s)
            if profile is camera.baseline:
                raw, estimate = drift.verdict == "drift", drift.estimated_accuracy
                alert, causes = decision.publish, tuple(request.cause for request in decision.requests)
                crossing = alert or any(not why.startswith("persistence") for why in decision.held.values())
            else:
                raw_training = drift.verdict == "drift"
        cpu_ms = 1000.0 * (time.process_time() - began)
        correct = int(np.sum(probabilities.argmax(axis=1) == clips.labels))
        camera.records.append(WindowRecord(start_s, end_s, raw, raw_training, alert, crossing, estimate, correct,
                                           len(clips), cpu_ms, causes))

    def control(self, index: int) -> tuple[Camera, ClipSet]:
        """Control camera `index`: its records and the distinct clips its windows were drawn from."""
        settings = self.settings
        pool_clips = settings.pool_windows * self.clips_per_window
        scene = camera_scene(settings.seed, index, settings.data)
        specs = [ClipSpec(CAMERA_STREAM, index, clip, scene=scene) for clip in range(self.baseline_clips + pool_clips)]
        clips = self.cache.get(f"control-{index}", specs)
        camera = self._camera(f"control-{index}", clips.take(slice(0, self.baseline_clips)))
        pool = clips.take(slice(self.baseline_clips, None))
        rng = np.random.default_rng([settings.seed, DRAW_STREAM, index])
        window_s = self.clips_per_window * self.clip_s
        for window in range(settings.windows):
            rows = np.sort(rng.choice(len(pool), self.clips_per_window, replace=False))
            self._observe(camera, pool.take(rows), self.baseline_clips * self.clip_s + window * window_s)
        return camera, pool

    def shifted(self, kind: ShiftKind) -> ShiftRun:
        settings = self.settings
        index = SHIFTED_CAMERA_BASE + SHIFT_KINDS.index(kind)
        scene = camera_scene(settings.seed, index, settings.data)
        first_shifted = (self.baseline_clips + settings.pre_shift_windows * self.clips_per_window
                         + min(settings.shift_offset_clips, self.clips_per_window - 1))
        end = self.baseline_clips + (settings.pre_shift_windows + settings.post_shift_windows) * self.clips_per_window
        mix = self.mix if kind == "action_mix" else None
        shift = None if kind == "action_mix" else kind
        before = self.cache.get(f"{kind}-before", [ClipSpec(CAMERA_STREAM, index, clip, scene=scene)
                                                   for clip in range(first_shifted)])
        after = self.cache.get(f"{kind}-after", [ClipSpec(CAMERA_STREAM, index, clip, mix, scene, shift)
                                                 for clip in range(first_shifted, end)])
        twins = self.cache.get(f"{kind}-twins", [ClipSpec(CAMERA_STREAM, index, clip, scene=scene)
                                                 for clip in range(first_shifted, end)])
        stream = ClipSet(*(np.concatenate([getattr(before, name), getattr(after, name)])
                           for name in ("embeddings", "quality", "labels")))
        camera = self._camera(f"{kind}", stream.take(slice(0, self.baseline_clips)))
        for start in range(self.baseline_clips, end, self.clips_per_window):
            self._observe(camera, stream.take(slice(start, start + self.clips_per_window)), start * self.clip_s)
        return ShiftRun(kind, first_shifted * self.clip_s, camera.records, self._accuracy(twins),
                        self._accuracy(after))

    def _accuracy(self, clips: ClipSet) -> float:
        return float(np.mean(self.classifier.probabilities(clips).argmax(axis=1) == clips.labels))

    def estimate_error(self, pools: list[ClipSet]) -> tuple[float, float, float]:
        """(estimated, observed accuracy, absolute error) over every distinct unshifted control clip."""
        clips = ClipSet(*(np.concatenate([getattr(pool, name) for pool in pools])
                          for name in ("embeddings", "quality", "labels")))
        probabilities = self.classifier.probabilities(clips)
        estimated = self.calibration.expected_accuracy(np.sort(probabilities, axis=1)[:, ::-1][:, :self.settings.top_k])
        observed = float(np.mean(probabilities.argmax(axis=1) == clips.labels))
        return estimated, observed, abs(estimated - observed)


def run_drift_bench(settings: DriftBenchSettings, cache: ClipCache) -> tuple[dict[str, object], list[str]]:
    """The JSON result and the table lines before it."""
    from threadpoolctl import threadpool_limits  # a scikit-learn requirement

    bench = DriftBench(settings, cache)
    # One BLAS thread: the cost target is cameras per core, and idle BLAS threads spinning would count as CPU.
    with threadpool_limits(limits=1):
        controls, pools = zip(*(bench.control(index) for index in range(settings.cameras)), strict=True)
        shifts = [bench.shifted(kind) for kind in SHIFT_KINDS]
    estimated, observed, error = bench.estimate_error(list(pools))
    control_records = [record for camera in controls for record in camera.records]
    result = summarize(control_records, shifts, error)
    return result, format_table(bench, shifts, control_records, (estimated, observed))


def format_table(bench: DriftBench, shifts: list[ShiftRun], controls: list[WindowRecord],
                 estimate: tuple[float, float]) -> list[str]:
    settings = bench.settings
    window_s = bench.clips_per_window * bench.clip_s
    lines = [
        f"model: softmax regression on max-pooled X_i, validation accuracy {bench.calibration.accuracy:.3f}, "
        f"temperature {bench.calibration.temperature:.2f}; drift window {window_s:.0f} s = "
        f"{bench.clips_per_window} clips x {settings.data.frames_per_clip} frames; baseline "
        f"{settings.baseline_windows} windows; policy k={settings.policy.defaults.persistence_k} of "
        f"m={settings.policy.defaults.persistence_m}",
        f"{'shift':<11} {'size':<22} {'acc unshifted':>13} {'acc shifted':>11} {'cost':>6} {'raw delay':>9} "
        f"{'alert delay':>11} {'delay s':>8} {'alerts before':>13}  first alert's causes",
    ]
    sizes = settings.data.shifts
    size_of = {"brightness": f"gain {sizes.brightness_gain}", "noise": f"sigma {sizes.noise_sigma}",
               "blur": f"sigma {sizes.blur_sigma} px", "background": f"clutter, {sizes.background_blocks} blocks",
               "action_mix": f"{sizes.new_actions_share:.0%} new kinds, class "
               + ",".join(str(index) for index in np.flatnonzero(bench.mix == bench.mix.max()))}
    for run in shifts:
        raw = first_detection(run.records, run.start_s, alert=False)
        found = first_detection(run.records, run.start_s, alert=True)
        before = sum(record.alert for record in run.records if record.end_s <= run.start_s)
        first = next((record for record in run.records if record.alert and record.end_s > run.start_s), None)
        lines.append(
            f"{run.kind:<11} {size_of[run.kind]:<22} {run.accuracy_unshifted:>13.3f} {run.accuracy_shifted:>11.3f} "
            f"{100 * (run.accuracy_unshifted - run.accuracy_shifted):>5.1f}p {raw[0] if raw else 'missed':>9} "
            f"{found[0] if found else 'missed':>11} {f'{found[1]:.0f}' if found else '-':>8} {before:>13}  "
            f"{','.join(first.alert_causes) if first else '-'}")
    estimates = [(record.estimate, record.correct / record.outcomes) for record in controls
                 if record.estimate is not None]
    every = [record for run in shifts for record in run.records] + controls
    cpu_ms = float(np.mean([record.cpu_ms for record in every]))
    lines += [
        f"controls: {len(controls)} windows on {settings.cameras} cameras; raw drift vs camera baseline "
        f"{np.mean([record.raw_drift for record in controls]):.4f}, vs training profile "
        f"{np.mean([record.raw_drift_training for record in controls]):.4f}; alerts "
        f"{sum(record.alert for record in controls)}, k-of-m crossings (incl. held by cool-down) "
        f"{sum(record.crossing for record in controls)}; alert causes "
        f"{dict(Counter(cause for record in controls for cause in record.alert_causes))}",
        f"label-free estimate on unshifted clips {estimate[0]:.3f} vs observed {estimate[1]:.3f}; per-window mean "
        f"absolute error {np.mean([abs(guess - truth) for guess, truth in estimates]):.3f}",
        f"drift CPU {cpu_ms:.1f} ms per camera window (both references and the policy): "
        f"{1000.0 * window_s / max(cpu_ms, 1e-9):.0f} cameras per core at {window_s:.0f} s windows",
    ]
    return lines
