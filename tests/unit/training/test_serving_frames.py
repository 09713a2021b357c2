"""Training reads clips through the camera adapter's resize + JPEG path and stage 1's decode (no train/serve skew)."""

from pathlib import Path

import av
import numpy as np

from streams.cameras.config import CameraConfig
from streams.codec import JpegEncoder, JpegSettings, decode_jpeg
from tests.unit.training.tiny_videos import moving_square_frames
from training.video import read_video_frames, sample_candidate_frames, write_video


def _as_served(path: Path, size: int) -> np.ndarray:
    """Every frame of `path` as a default camera publishes it (encode_stage.py) and stage 1 decodes it."""
    camera = CameraConfig(id="cam", kind="file", url=str(path), width=size, height=size)
    encoder = JpegEncoder(JpegSettings(camera.width, camera.height, camera.jpeg_quality, camera.interpolation))
    with av.open(str(path)) as container:
        return np.stack([decode_jpeg(encoder.encode(frame), (size, size)) for frame in container.decode(video=0)])


def test_candidate_frames_are_the_frames_serving_decodes(tmp_path: Path) -> None:
    path = write_video(tmp_path / "wide.avi", moving_square_frames(10, seed=0, height=48, width=64), fps=10.0)

    candidates = sample_candidate_frames(path, num_candidates=4, size=32)

    np.testing.assert_array_equal(candidates.frames, _as_served(path, 32)[candidates.frame_indices])


def test_whole_clips_at_a_size_are_the_frames_serving_decodes(tmp_path: Path) -> None:
    path = write_video(tmp_path / "wide.avi", moving_square_frames(6, seed=1, height=48, width=64), fps=10.0)

    np.testing.assert_array_equal(read_video_frames(path, size=32).frames, _as_served(path, 32))


def test_the_jpeg_round_trip_changes_pixels(tmp_path: Path) -> None:
    # Why the path matters: a plain resize of the decoded frame is not what the models see in serving.
    path = write_video(tmp_path / "wide.avi", moving_square_frames(2, seed=2, height=48, width=64), fps=10.0)
    with av.open(str(path)) as container:
        plain = np.stack([frame.reformat(width=32, height=32, format="rgb24").to_ndarray()
                          for frame in container.decode(video=0)])

    assert np.abs(plain.astype(int) - _as_served(path, 32).astype(int)).max() > 0
