"""Drift samples of labelled video folders: the model's training profile (written into the bundle at training
time, from the validation split) and the offline `actionstream drift report` on any UCF101-layout folder.

A folder's frames get what stage 1 publishes for a live frame, at the encoder's input size: brightness (mean
luma) and sharpness (Laplacian variance), X_i from the cached features and delta_i from the single-frame
selector; its clips get what the classifier publishes for a window (top-1 label and probability). Frames are
decoded a second time for their quality stats, so only as many clips as the profile keeps frames of are.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.bundle import DRIFT_PROFILE_DIR, ModelBundle
from models.registry import RegistrySettings, resolve_bundle_dir
from models.selectors import SingleFrameSelector, create_strategy
from processors.drift.calibration import Calibration, fit_temperature
from processors.drift.detector import assess
from processors.drift.profile import ProfileKind, ReferenceProfile
from processors.drift.reports import ReportStore, build_reports
from processors.drift.sample import WindowSample
from processors.drift.settings import DriftSettings, ReportSettings
from training.curation import laplacian_variance, to_grey
from training.features import FeatureSet
from training.scoring import end_to_end
from training.ucf101 import Ucf101Index, VideoItem
from training.video import CorruptVideoError, sample_candidate_frames

logger = logging.getLogger(__name__)


def frame_quality(item: VideoItem, num_candidates: int, image_size: int) -> dict[str, np.ndarray]:
    """brightness and sharpness of a clip's candidate frames, computed as stage 1 computes them."""
    grey = to_grey(sample_candidate_frames(item.path, num_candidates, image_size).frames)
    return {"brightness": grey.reshape(len(grey), -1).mean(axis=1), "sharpness": laplacian_variance(grey)}


@torch.no_grad()
def folder_sample(features: FeatureSet, items: Sequence[VideoItem], probabilities: np.ndarray, classes: list[str],
                  single: SingleFrameSelector, image_size: int, settings: DriftSettings) -> WindowSample:
    """Every clip's outcome, and the frames of evenly spaced clips: about twice the frames a profile keeps,
    so its random subset still spans many clips."""
    by_id = {item.video_id: item for item in items}
    candidates = features.representation.shape[1]
    wanted = math.ceil(2 * max(settings.reference_frames, settings.max_frames) / candidates)
    rows = np.unique(np.linspace(0, len(features.video_ids) - 1, min(wanted, len(features.video_ids))).round()
                     .astype(int))
    quality: dict[str, list[np.ndarray]] = {"brightness": [], "sharpness": [], "delta": []}
    embeddings = []
    for row in rows:
        try:
            stats = frame_quality(by_id[features.video_ids[row]], candidates, image_size)
        except CorruptVideoError as error:
            logger.warning("drift sample: %s skipped: %s", features.video_ids[row], error)
            continue
        representation = features.representation[row]
        stats["delta"] = single.scores(torch.from_numpy(np.asarray(representation, dtype=np.float32))).numpy()
        for column, values in stats.items():
            quality[column].append(values)
        embeddings.append(representation)
    unknown = sorted(set(settings.quality_columns) - set(quality))
    if unknown:
        raise ValueError(f"quality columns {', '.join(unknown)} are not measured on video folders")
    return WindowSample.from_probabilities(
        {column: np.concatenate(quality[column]) for column in settings.quality_columns},
        np.concatenate(embeddings), probabilities, classes, top_k=1)


def calibrate(probabilities: np.ndarray, labels: np.ndarray) -> Calibration:
    """Temperature on the log of the clip probabilities (the classifier's consensus has no logits)."""
    return fit_temperature(np.log(np.clip(probabilities, 1e-12, 1.0)), labels)


def build_profile(kind: ProfileKind, name: str, sample: WindowSample, settings: DriftSettings,
                  calibration: Calibration | None) -> ReferenceProfile:
    profile = ReferenceProfile.build(kind, name, sample, settings, calibration)
    logger.info("drift profile %s: %d frames, %d clips%s", name, profile.embeddings.shape[0], len(sample.labels),
                f", temperature {calibration.temperature:.3f}" if calibration else "")
    return profile


def _folder(bundle_dir: Path, bundle: ModelBundle, data: Path, split: int,
            settings: DriftSettings) -> tuple[WindowSample, np.ndarray, np.ndarray]:
    """A folder's drift sample, with its clip probabilities and labels (in the model's class numbering)."""
    from training.evaluate import build_scorer, extract_evaluation_features
    from training.smart_settings import FeatureSettings

    index = Ucf101Index.from_folder(data, split)
    unknown = sorted(set(index.classes) - set(bundle.classes))
    if unknown:
        raise ValueError(f"{data}: classes not known to the model: {', '.join(unknown)}")
    items = index.train + index.test
    features_settings = FeatureSettings(num_candidates=bundle.manifest.num_candidates,
                                        top_k_names=bundle.manifest.architecture.top_k_names)
    features = extract_evaluation_features(bundle_dir, bundle, items, features_settings, progress=False)
    scorer = build_scorer(bundle, items, features_settings.num_candidates)
    probabilities = end_to_end(create_strategy("smart", bundle.selector_models(), 0), scorer, features,
                               bundle.manifest.num_frames).probabilities
    labels = np.asarray([bundle.classes.index(index.classes[label]) for label in features.labels], dtype=np.int64)
    sample = folder_sample(features, items, probabilities, bundle.classes, bundle.single,
                           bundle.preprocessing.image_size, settings)
    return sample, probabilities, labels


def folder_report(model: str, data: Path, reference: Path | None, split: int, registry: RegistrySettings,
                  settings: DriftSettings, reports: ReportSettings) -> dict[str, Any]:
    """The drift job's checks on a whole folder as one window, against the model's training profile or a
    reference folder (calibrated on its own labels), with Evidently's HTML reports."""
    bundle_dir = resolve_bundle_dir(model, registry)
    bundle = ModelBundle.load(bundle_dir)
    if reference is not None:
        sample, probabilities, labels = _folder(bundle_dir, bundle, reference, split, settings)
        profile = build_profile("camera", f"folder:{reference}", sample, settings, calibrate(probabilities, labels))
    elif (bundle_dir / DRIFT_PROFILE_DIR).is_dir():
        profile = ReferenceProfile.load(bundle_dir / DRIFT_PROFILE_DIR)
    else:
        raise ValueError(f"model {model} has no training profile (an older bundle): pass --reference FOLDER")
    window, _, _ = _folder(bundle_dir, bundle, data, split, settings)
    drift = assess(profile, window, settings)
    paths = ReportStore(reports).save(build_reports(profile, window, settings), f"offline-{data.name}")
    return {
        "drift": drift.verdict == "drift", "share_drifted": drift.share_drifted,
        "embedding_drift": drift.embedding.score if drift.embedding else None,
        "embedding_p_value": drift.embedding.p_value if drift.embedding else None,
        "estimated_accuracy": drift.estimated_accuracy, "causes": drift.causes,
        "drifted_columns": drift.drifted_columns, "frames": drift.frames, "clips": drift.outcomes,
        "reference": profile.name, "html": [str(path) for path in paths],
    }
