from pathlib import Path

import numpy as np
import pytest

from tests.unit.training.tiny_videos import moving_square_frames, write_tiny_video
from training.video import (
    CorruptVideoError,
    read_video_frames,
    sample_candidate_frames,
    uniform_time_indices,
    write_video,
)


def test_samples_t_frames_uniformly_by_time(tmp_path: Path) -> None:
    path = write_tiny_video(tmp_path / "clip.avi", num_frames=20)

    candidates = sample_candidate_frames(path, num_candidates=4)

    # 20 frames at 10 fps span 2 s; the slices start at 0, 0.5, 1, 1.5 s: their first frames are 0, 5, 10, 15.
    assert candidates.frame_indices.tolist() == [0, 5, 10, 15]
    np.testing.assert_allclose(candidates.times, [0.0, 0.5, 1.0, 1.5])
    assert candidates.frames.shape == (4, 32, 32, 3)
    assert candidates.frames.dtype == np.uint8


def test_sampled_frames_match_the_decoded_stream(tmp_path: Path) -> None:
    path = write_tiny_video(tmp_path / "clip.avi", num_frames=12)

    candidates = sample_candidate_frames(path, num_candidates=5)
    decoded = read_video_frames(path)

    np.testing.assert_array_equal(candidates.frames, decoded.frames[candidates.frame_indices])


def test_short_clip_repeats_frames_in_time_order(tmp_path: Path) -> None:
    path = write_tiny_video(tmp_path / "clip.mp4", num_frames=3)

    candidates = sample_candidate_frames(path, num_candidates=6)

    assert candidates.frame_indices.tolist() == [0, 0, 1, 1, 2, 2]
    assert candidates.frames.shape[0] == 6


def test_resizes_to_square_size(tmp_path: Path) -> None:
    frames = moving_square_frames(6, seed=0, height=24, width=40)
    path = write_video(tmp_path / "wide.avi", frames, fps=10.0)

    candidates = sample_candidate_frames(path, num_candidates=2, size=16)

    assert candidates.frames.shape == (2, 16, 16, 3)


def test_uniform_time_indices_follow_timestamps_not_positions() -> None:
    # Variable frame rate: frame 1 stays on screen from 0.1 s to 1.0 s.
    times = np.array([0.0, 0.1, 1.0, 1.1])

    # Span [0, 1.2) s (last frame lasts the median step, 0.1 s); slices start at 0, 0.3, 0.6, 0.9 s. The
    # middle two hold no frame: they take frame 1, on screen at their start.
    assert uniform_time_indices(times, 4).tolist() == [0, 1, 1, 2]


def test_uniform_time_indices_take_the_camera_samplers_frames() -> None:
    # A 4 s clip at 25 fps, 32 candidates: the sampler at 8 fps keeps the first frame of each 0.125 s slot.
    times = np.arange(100) / 25
    slots = np.floor(times * 8 + 1e-9).astype(int)
    first_of_each_slot = [int(np.flatnonzero(slots == slot)[0]) for slot in range(32)]

    assert uniform_time_indices(times, 32).tolist() == first_of_each_slot


def test_non_video_file_raises_corrupt_video_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.avi"
    path.write_bytes(b"this is not a video" * 20)

    with pytest.raises(CorruptVideoError) as raised:
        sample_candidate_frames(path, num_candidates=4)

    assert raised.value.path == path
    assert raised.value.reason


def test_missing_file_raises_corrupt_video_error(tmp_path: Path) -> None:
    with pytest.raises(CorruptVideoError, match="not found"):
        read_video_frames(tmp_path / "absent.avi")


def test_video_cut_in_half_is_corrupt(tmp_path: Path) -> None:
    path = write_tiny_video(tmp_path / "clip.avi", num_frames=12)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    with pytest.raises(CorruptVideoError, match="cannot open"):
        sample_candidate_frames(path, num_candidates=4)


def test_video_missing_its_tail_yields_the_frames_that_remain(tmp_path: Path) -> None:
    path = write_tiny_video(tmp_path / "clip.avi", num_frames=12)
    path.write_bytes(path.read_bytes()[:-300])  # the AVI index and the last frames

    candidates = sample_candidate_frames(path, num_candidates=4)

    assert candidates.frames.shape[0] == 4
    assert candidates.frame_indices.max() < 11
