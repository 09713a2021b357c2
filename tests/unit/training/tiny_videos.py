"""Tiny real clips and UCF101 layouts written with PyAV, for the training-kit tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.video import write_video

TINY_FPS = 10.0


def moving_square_frames(num_frames: int, seed: int, height: int = 32, width: int = 32) -> np.ndarray:
    """uint8 RGB frames [N, H, W, 3]: a textured background with a bright square moving right."""
    rng = np.random.default_rng(seed)
    background = rng.integers(40, 200, size=(height, width, 3), dtype=np.uint8)
    frames = np.repeat(background[None], num_frames, axis=0)
    for index in range(num_frames):
        left = (index * 2) % (width - 8)
        frames[index, 8:16, left : left + 8] = 250
    return frames


def write_tiny_video(path: Path, num_frames: int = 12, seed: int = 0) -> Path:
    """A tiny .avi (mpeg4) or .mp4 (libx264, by suffix) clip."""
    codec = "libx264" if path.suffix == ".mp4" else "mpeg4"
    return write_video(path, moving_square_frames(num_frames, seed), TINY_FPS, codec=codec)


def write_ucf_layout(root: Path, split: int = 1) -> Path:
    """root/UCF-101 with two classes (one .avi each, one .mp4 listed as .avi) and the split lists.

    Lists name one video that does not exist (BoxingBag g02) so the index must report it as missing.
    """
    videos = root / "UCF-101"
    write_tiny_video(videos / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g01_c01.avi", seed=1)
    write_tiny_video(videos / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g02_c01.avi", seed=2)
    write_tiny_video(videos / "BoxingBag" / "v_BoxingBag_g01_c01.mp4", seed=3)
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 BoxingBag\n")
    (lists / f"trainlist{split:02d}.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi 1\nBoxingBag/v_BoxingBag_g01_c01.avi 2\n"
    )
    (lists / f"testlist{split:02d}.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\nBoxingBag/v_BoxingBag_g02_c01.avi\n"
    )
    return root
