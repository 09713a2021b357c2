"""The archive's X_i as a candidate's features: labelled windows are not re-encoded.

Stage 1 computed every archived frame's X_i with the serving encoder (the same frozen network and
representation as training), and the archive export keeps them in `features.npz`. Before a candidate trains,
each labelled window's row becomes a feature-cache file of the training pipeline (training/features.py), under
the training run's key (curation as configured) for the windows it trains on and under the evaluation key (no
curation) for the held-out ones, so both skip the encoder. The T candidates are taken from the window's frames
as sample_candidate_frames takes them from its video; the curation verdict needs pixels, so the window's short
video is decoded (cheap next to the encoder). A window whose X_i is missing or of another size is left to the
ordinary path.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from models.preprocessing import Preprocessing
from processors.archive.export import FEATURES_FILENAME
from processors.retrain.data import MergedData
from training.config import TrainConfig
from training.curation import CurationSettings, curate_clip
from training.features import VideoFeatures, cache_directory, cache_file, save_cached
from training.ucf101 import Ucf101Index, VideoItem
from training.video import CorruptVideoError, read_video_frames, uniform_time_indices

logger = logging.getLogger(__name__)


def cache_archived_features(labelled: Path, merged: MergedData, config: TrainConfig,
                            preprocessing: Preprocessing | None = None) -> int:
    """Write the feature-cache files of the windows in `merged` that come from the archive export `labelled`
    (the request's labelled windows, or the replayed ones), from its features.npz; returns how many were written
    (0 without the file)."""
    archive = labelled / FEATURES_FILENAME
    if not archive.exists():
        return 0
    preprocessing = preprocessing or Preprocessing()
    with np.load(archive) as stored:
        rows = {str(video_id): row for row, video_id in enumerate(stored["video_ids"]) if stored["has_features"][row]}
        features, mask = stored["features"], stored["mask"]
    dim = features.shape[-1]
    labelled_root = labelled.resolve()
    training_dir = cache_directory(config.features, preprocessing, config.curation)
    evaluation_dir = cache_directory(config.features, preprocessing, CurationSettings(enabled=False))
    jobs = [(item, training_dir, config.curation) for item in Ucf101Index.from_folder(merged.root).train]
    jobs += [(item, evaluation_dir, None) for item in merged.labelled_test + merged.replay_test]
    written = 0
    for item, directory, curation in jobs:
        video_id = _archive_video_id(item, labelled_root)
        if video_id is None or video_id not in rows:
            continue
        path = cache_file(directory, item)
        if path.exists():
            continue
        row = rows[video_id]
        window = features[row][mask[row]].astype(np.float32)
        if window.shape[-1] != dim or not len(window):
            continue
        try:
            video = _window_features(item, window, config.features.num_candidates, preprocessing, curation)
        except CorruptVideoError as error:
            logger.warning("archived window %s: %s; it is encoded from its video", item.video_id, error.reason)
            continue
        save_cached(path, video)
        written += 1
    logger.info("archived X_i of %d windows of %s cached for training and evaluation (no re-encoding)", written,
                labelled)
    return written


def _archive_video_id(item: VideoItem, labelled_root: Path) -> str | None:
    """`<label>/<file stem>` of a video of the labelled export, or None for another video (the base set)."""
    try:
        relative = item.path.resolve().relative_to(labelled_root)
    except ValueError:
        return None
    return f"{relative.parent.name}/{relative.stem}"


def _window_features(item: VideoItem, window: np.ndarray, num_candidates: int, preprocessing: Preprocessing,
                     curation: CurationSettings | None) -> VideoFeatures:
    """T candidates of one window's X_i [n, D] (its frames in time order, as its video holds them)."""
    decoded = read_video_frames(item.path, preprocessing.image_size)
    if len(decoded.frames) != len(window):
        raise CorruptVideoError(item.path, f"{len(decoded.frames)} frames in the video, {len(window)} archived X_i")
    chosen = uniform_time_indices(decoded.times, num_candidates)
    kept = np.ones(num_candidates, dtype=bool)
    if curation is not None:
        kept[:] = False
        kept[curate_clip(decoded.frames[chosen], curation)[0]] = True
    return VideoFeatures(item.video_id, item.label, window[chosen], np.zeros((num_candidates, 0), np.float32),
                         chosen, decoded.times[chosen], kept)
