"""Encoder features for every candidate frame, computed once with the frozen encoder and cached.

One `.npz` file per video under `<cache_dir>/<settings key>/`, keyed by video id; inside, row t belongs to
decoded frame `frame_indices[t]` at `times[t]`. The file holds the encoder outputs and X (the frame
representation), plus the curation verdict per frame, so every later step (oracle, selectors, evaluation,
benchmarks) reuses it without decoding or running the CNN again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from models.backends import BackendOptions, EncoderBackend
from models.preprocessing import Preprocessing
from models.representation import frame_representation
from training.array_files import save_arrays
from training.curation import CurationReport, CurationSettings, curate_clip
from training.smart_settings import FeatureSettings
from training.ucf101 import VideoItem
from training.video import CorruptVideoError, sample_candidate_frames

logger = logging.getLogger(__name__)

CACHE_FORMAT = 3  # 2: frames through the serving path (resize + JPEG round trip); 3: sampler-timed candidates


@dataclass(frozen=True)
class VideoFeatures:
    video_id: str
    label: int
    representation: np.ndarray  # float32 [T,D]
    logits: np.ndarray  # float32 [T,1000]
    frame_indices: np.ndarray  # int64 [T]
    times: np.ndarray  # float64 [T]
    kept: np.ndarray  # bool [T]: survived curation


@dataclass(frozen=True)
class FeatureSet:
    """Stacked features of many videos: X [N,T,D], mask [N,T] (curated frames are False), labels [N]."""

    video_ids: list[str]
    representation: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    frame_indices: np.ndarray

    def subset(self, rows: np.ndarray) -> FeatureSet:
        return FeatureSet(
            video_ids=[self.video_ids[row] for row in rows],
            representation=self.representation[rows],
            mask=self.mask[rows],
            labels=self.labels[rows],
            frame_indices=self.frame_indices[rows],
        )

    @classmethod
    def stack(cls, videos: list[VideoFeatures], use_curation: bool = True) -> FeatureSet:
        if not videos:
            raise ValueError("no videos to stack: every video was corrupt or missing")
        mask = np.stack([video.kept if use_curation else np.ones_like(video.kept) for video in videos])
        empty = ~mask.any(axis=1)
        mask[empty] = True  # a clip whose every frame was dropped keeps them all rather than vanish
        return cls(
            video_ids=[video.video_id for video in videos],
            representation=np.stack([video.representation for video in videos]),
            mask=mask,
            labels=np.asarray([video.label for video in videos], dtype=np.int64),
            frame_indices=np.stack([video.frame_indices for video in videos]),
        )


def settings_key(settings: FeatureSettings, preprocessing: Preprocessing, curation: CurationSettings) -> str:
    """Short hash of everything that changes the cached numbers."""
    payload = {
        "format": CACHE_FORMAT,
        "T": settings.num_candidates,
        "backend": settings.backend,
        "precision": settings.precision,
        "top_k": settings.top_k_names,
        "preprocessing": preprocessing.model_dump(mode="json"),
        "curation": curation.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def cache_directory(settings: FeatureSettings, preprocessing: Preprocessing, curation: CurationSettings) -> Path:
    """Where the feature files of these settings live."""
    return settings.cache_dir / settings_key(settings, preprocessing, curation)


def cache_file(directory: Path, item: VideoItem) -> Path:
    """The feature file of one video: keyed by its id and its file (resolved path, size, mtime)."""
    stat = item.path.stat()
    fingerprint = hashlib.sha256(f"{item.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return directory / f"{item.video_id.replace('/', '__')}.{fingerprint}.npz"


class FeatureExtractor:
    """Decodes candidates, curates, encodes and caches."""

    def __init__(
        self,
        backend: EncoderBackend,
        preprocessing: Preprocessing,
        name_table: np.ndarray,
        settings: FeatureSettings,
        curation: CurationSettings,
    ) -> None:
        self.backend = backend
        self.preprocessing = preprocessing
        self.name_table = name_table
        self.settings = settings
        self.curation = curation
        self.directory = cache_directory(settings, preprocessing, curation)

    def extract(
        self,
        items: list[VideoItem],
        report: CurationReport | None = None,
        progress: bool = True,
        desc: str = "features",
    ) -> list[VideoFeatures]:
        self.directory.mkdir(parents=True, exist_ok=True)
        videos: list[VideoFeatures] = []
        for item in tqdm(items, desc=desc, unit="video", disable=not progress):
            try:
                videos.append(self._one(item, report))
            except CorruptVideoError as error:
                logger.warning("skipping corrupt video %s: %s", error.path, error.reason)
                if report is not None:
                    report.add_corrupt(error.path, error.reason)
        return videos

    def _one(self, item: VideoItem, report: CurationReport | None) -> VideoFeatures:
        path = cache_file(self.directory, item)
        if path.exists():
            with np.load(path) as stored:
                kept = stored["kept"]
                if report is not None:
                    report.add_clip(item.video_id, len(kept), np.flatnonzero(kept), [])
                return VideoFeatures(item.video_id, item.label, stored["representation"], stored["logits"],
                                     stored["frame_indices"], stored["times"], kept)
        candidates = sample_candidate_frames(item.path, self.settings.num_candidates, self.preprocessing.image_size)
        kept_indices, dropped = curate_clip(candidates.frames, self.curation)
        if report is not None:
            report.add_clip(item.video_id, len(candidates.frames), kept_indices, dropped)
        kept = np.zeros(len(candidates.frames), dtype=bool)
        kept[kept_indices] = True
        output = self.backend.run(self.preprocessing(candidates.frames))
        representation = frame_representation(
            output.features, output.logits, self.name_table, self.settings.top_k_names
        )
        video = VideoFeatures(item.video_id, item.label, representation, output.logits,
                              candidates.frame_indices, candidates.times, kept)
        save_cached(path, video)
        return video


def save_cached(path: Path, video: VideoFeatures) -> None:
    """Write one video's feature file (also for features computed elsewhere, e.g. archived X_i)."""
    save_arrays(path, representation=video.representation, logits=video.logits, frame_indices=video.frame_indices,
                times=video.times, kept=video.kept)



def calibration_images(
    items: list[VideoItem], settings: FeatureSettings, preprocessing: Preprocessing, seed: int = 0
) -> np.ndarray:
    """Preprocessed candidate frames of randomly chosen training videos, for int8 calibration."""
    rng = np.random.default_rng(seed)
    images: list[np.ndarray] = []
    for row in rng.permutation(len(items)):
        if len(images) >= settings.calibration_frames:
            break
        try:
            candidates = sample_candidate_frames(items[row].path, settings.num_candidates, preprocessing.image_size)
        except CorruptVideoError:
            continue
        picks = rng.choice(len(candidates.frames), size=min(8, len(candidates.frames)), replace=False)
        images.extend(preprocessing(candidates.frames[np.sort(picks)]))
    if not images:
        raise ValueError("no decodable training video to calibrate the int8 encoder on")
    return np.stack(images[: settings.calibration_frames])


def backend_options(settings: FeatureSettings, model_dir: Path) -> BackendOptions:
    return BackendOptions(model_dir=model_dir, precision=settings.precision, device=settings.device,
                          num_threads=settings.num_threads)
