from __future__ import annotations

from pathlib import Path

import numpy as np

from models.backends import EncoderOutput
from models.preprocessing import Preprocessing
from tests.unit.training.tiny_videos import write_tiny_video
from training.curation import CurationReport, CurationSettings
from training.features import FeatureExtractor, FeatureSet, settings_key
from training.smart_settings import FeatureSettings
from training.ucf101 import VideoItem


class CountingBackend:
    """Deterministic stand-in for the encoder: features from the image mean, logits favour class 7."""

    name = "fake"
    precision = "fp32"

    def __init__(self) -> None:
        self.images_seen = 0

    def run(self, images: np.ndarray) -> EncoderOutput:
        self.images_seen += len(images)
        features = np.repeat(images.mean(axis=(1, 2, 3))[:, None], 1280, axis=1).astype(np.float32) + 1.0
        logits = np.zeros((len(images), 1000), dtype=np.float32)
        logits[:, 7] = 1.0
        return EncoderOutput(features=features, logits=logits)


def _extractor(tmp_path: Path, backend: CountingBackend) -> FeatureExtractor:
    settings = FeatureSettings(num_candidates=6, cache_dir=tmp_path / "cache", top_k_names=2)
    table = np.eye(1000, 384, dtype=np.float32)
    return FeatureExtractor(backend, Preprocessing(image_size=32), table, settings, CurationSettings(enabled=False))


def test_features_are_cached_per_video_and_reused(tmp_path: Path) -> None:
    item = VideoItem(write_tiny_video(tmp_path / "A" / "v_A_g01_c01.avi", num_frames=10), 0, "A", "A/v_A_g01_c01")
    backend = CountingBackend()
    first = _extractor(tmp_path, backend).extract([item], progress=False)
    assert backend.images_seen == 6
    second = _extractor(tmp_path, backend).extract([item], progress=False)
    assert backend.images_seen == 6, "second extraction must come from the cache"
    video = second[0]
    assert video.representation.shape == (6, 1664)
    np.testing.assert_array_equal(video.representation, first[0].representation)
    assert list(video.frame_indices) == sorted(video.frame_indices)
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 1


def test_corrupt_videos_are_listed_and_skipped(tmp_path: Path) -> None:
    good = VideoItem(write_tiny_video(tmp_path / "A" / "v_A_g01_c01.avi"), 0, "A", "A/v_A_g01_c01")
    broken_path = tmp_path / "A" / "v_A_g01_c02.avi"
    broken_path.write_bytes(b"not a video at all")
    broken = VideoItem(broken_path, 0, "A", "A/v_A_g01_c02")
    report = CurationReport(settings={})
    videos = _extractor(tmp_path, CountingBackend()).extract([broken, good], report, progress=False)
    assert [video.video_id for video in videos] == ["A/v_A_g01_c01"]
    assert [entry["path"] for entry in report.corrupt] == [str(broken_path)]


def test_stack_uses_the_curation_mask_but_never_empties_a_clip() -> None:
    from training.features import VideoFeatures

    def video(kept: list[bool]) -> VideoFeatures:
        steps = len(kept)
        return VideoFeatures("v", 1, np.zeros((steps, 4), np.float32), np.zeros((steps, 1000), np.float32),
                             np.arange(steps), np.arange(steps, dtype=float), np.asarray(kept))

    stacked = FeatureSet.stack([video([True, False, True]), video([False, False, False])])
    assert stacked.mask.tolist() == [[True, False, True], [True, True, True]]
    assert FeatureSet.stack([video([True, False, True])], use_curation=False).mask.all()


def test_cache_key_changes_with_what_changes_the_numbers() -> None:
    base = FeatureSettings()
    key = settings_key(base, Preprocessing(), CurationSettings())
    assert key == settings_key(FeatureSettings(), Preprocessing(), CurationSettings())
    assert key != settings_key(base.model_copy(update={"num_candidates": 16}), Preprocessing(), CurationSettings())
    assert key != settings_key(base.model_copy(update={"precision": "int8"}), Preprocessing(), CurationSettings())
    assert key != settings_key(base, Preprocessing(image_size=192), CurationSettings())
