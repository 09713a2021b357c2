"""The archive's X_i become the training and evaluation feature caches of a candidate's labelled windows, so
neither re-encodes them; base videos and windows without X_i are left to the ordinary path."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.preprocessing import Preprocessing
from processors.retrain.archived_features import cache_archived_features
from processors.retrain.data import merge_training_sets
from training.config import load_config
from training.curation import CurationSettings
from training.features import cache_directory, cache_file
from training.ucf101 import Ucf101Index
from training.video import write_video

DIM = 6
FRAMES = 10  # frames of an archived window (its video holds them at the sample rate)


def _window_video(path: Path, seed: int) -> None:
    frames = np.random.default_rng(seed).integers(40, 200, size=(FRAMES, 32, 32, 3), dtype=np.uint8)
    write_video(path, frames, fps=8.0)


def _layout(root: Path, train: list[str], test: list[str]) -> Path:
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("1 walk\n2 wave\n")
    for seed, relative in enumerate(train + test):
        _window_video(root / "UCF-101" / relative, seed)
    number = {"walk": 1, "wave": 2}
    (lists / "trainlist01.txt").write_text("".join(f"{r} {number[r.split('/')[0]]}\n" for r in train))
    (lists / "testlist01.txt").write_text("".join(f"{r}\n" for r in test))
    return root


def test_labelled_windows_get_their_archived_features_as_cache_files(tmp_path: Path) -> None:
    base = _layout(tmp_path / "base", ["walk/base_a.mp4", "wave/base_b.mp4"], ["walk/base_c.mp4"])
    labelled = _layout(tmp_path / "labelled", ["walk/cam0_1000.mp4", "wave/cam0_3000.mp4"], ["wave/cam0_9000.mp4"])
    video_ids = ["walk/cam0_1000", "wave/cam0_3000", "wave/cam0_9000"]
    features = np.random.default_rng(1).normal(size=(3, FRAMES + 2, DIM)).astype(np.float16)
    mask = np.zeros((3, FRAMES + 2), dtype=bool)
    mask[:, :FRAMES] = True  # padded to the longest window
    has_features = np.array([True, False, True])  # the second window's X_i had another size
    np.savez(labelled / "features.npz", video_ids=np.asarray(video_ids), features=features, mask=mask,
             has_features=has_features)
    merged = merge_training_sets(base, labelled, tmp_path / "merged")
    config = load_config([], [f"features.cache_dir={tmp_path / 'cache'}", "features.num_candidates=4"])

    assert cache_archived_features(labelled, merged, config) == 2

    preprocessing = Preprocessing()
    training_dir = cache_directory(config.features, preprocessing, config.curation)
    evaluation_dir = cache_directory(config.features, preprocessing, CurationSettings(enabled=False))
    train = {item.video_id: item for item in Ucf101Index.from_folder(merged.root).train}
    with np.load(cache_file(training_dir, train["walk/labelled_cam0_1000"])) as stored:
        # T=4 of 10 frames, as sample_candidate_frames takes them from the window's video.
        assert stored["frame_indices"].tolist() == [0, 3, 5, 8]
        assert np.array_equal(stored["representation"], features[0, [0, 3, 5, 8]].astype(np.float32))
        assert stored["kept"].dtype == bool and stored["kept"].shape == (4,)
    assert not cache_file(training_dir, train["wave/labelled_cam0_3000"]).exists()  # no X_i: encoded as usual
    assert not cache_file(training_dir, train["walk/base_a"]).exists()  # a base video: not the archive's
    held_out = merged.labelled_test[0]
    with np.load(cache_file(evaluation_dir, held_out)) as stored:
        assert np.array_equal(stored["representation"], features[2, [0, 3, 5, 8]].astype(np.float32))
        assert stored["kept"].all()  # evaluation does not curate
