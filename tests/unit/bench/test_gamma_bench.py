"""`bench gamma`'s windows and pick sets, on small arrays."""

from __future__ import annotations

import numpy as np

from bench.gamma import cut_windows, top_sets


def test_windows_cut_across_clips_laid_end_to_end() -> None:
    clips = np.arange(3 * 4 * 2, dtype=np.float32).reshape(3, 4, 2)  # 3 clips of 4 candidates, D=2
    windows = cut_windows(clips, length=4, stride=3)
    assert windows.shape == (3, 4, 2)  # starts 0, 3, 6 of 12 frames; a window ending past the last is left out
    frames = clips.reshape(-1, 2)
    np.testing.assert_array_equal(windows[1], frames[3:7])  # the last frame of clip 0, three of clip 1


def test_top_sets_ignore_order_within_the_picks() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [0.8, 0.2, 0.6, 0.1]])
    assert top_sets(scores, 2) == [frozenset({1, 3}), frozenset({0, 2})]
    assert top_sets(scores[:, ::-1], 2) != top_sets(scores, 2)
