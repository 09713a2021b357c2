from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.preprocessing import Preprocessing
from tests.unit.training.tiny_videos import write_tiny_video
from training.augment import AugmentSettings
from training.features import FeatureSet
from training.heavy import FrameStore, HeavyScorer, _segment_picks, train_heavy
from training.losses import create_loss
from training.optim import OptimizerSettings, SchedulerSettings
from training.smart_settings import ClassifierSettings
from training.ucf101 import VideoItem


def test_segment_picks_take_one_valid_frame_per_segment() -> None:
    mask = np.array([True, False, True, True, False, True, True, True])
    rng = np.random.default_rng(0)
    for _ in range(20):
        picks = _segment_picks(mask, 3, rng)
        assert len(picks) == 3
        assert all(mask[picks])
        assert list(picks) == sorted(picks)
    first = _segment_picks(mask, 3, np.random.default_rng(5))
    assert first.tolist() == _segment_picks(mask, 3, np.random.default_rng(5)).tolist()


@pytest.mark.slow
def test_heavy_classifier_fine_tunes_and_scores_every_candidate(tmp_path: Path) -> None:
    torch.set_num_threads(2)
    items = [
        VideoItem(write_tiny_video(tmp_path / f"C{label}" / f"v_C{label}_g01_c01.avi", 8, seed=label), label,
                  f"C{label}", f"C{label}/v_C{label}_g01_c01")
        for label in range(2)
    ]
    steps = 4
    data = FeatureSet([item.video_id for item in items], np.zeros((2, steps, 3), np.float32),
                      np.ones((2, steps), bool), np.array([0, 1]), np.zeros((2, steps), np.int64))
    preprocessing = Preprocessing()
    store = FrameStore(items, steps, preprocessing.image_size)
    settings = ClassifierSettings(kind="heavy", heavy_epochs=1, heavy_batch_size=4, heavy_frames_per_clip=2)
    network, result = train_heavy(
        data, 2, store, preprocessing, settings, AugmentSettings(), OptimizerSettings(), SchedulerSettings(),
        create_loss("cross_entropy"), validate=None, progress=False,
    )
    assert result.best_epoch == 1 and np.isfinite(result.history[0]["classifier/train_loss"])
    probabilities = HeavyScorer(network, store, preprocessing).frame_probabilities(data)
    assert probabilities.shape == (2, steps, 2)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)
