"""A camera feed whose scene shifts part-way: the same script as its unshifted twin, another look after the
shift, and the shift written into the timeline."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from training.synth import SynthSettings
from training.synth_feed import FeedShift, timeline_path, write_camera_feed

SETTINGS = SynthSettings(width=64, height=48, fps=8.0, seconds=1.0, num_classes=3)


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]).astype(np.float32)


def test_a_darker_noisier_shift_changes_only_the_frames_after_its_start(tmp_path: Path) -> None:
    plain = write_camera_feed(SETTINGS, tmp_path / "plain.mp4", seconds=3.0, seed=4)
    shift = FeedShift(kinds=["brightness", "noise"], start_s=1.5)
    shifted = write_camera_feed(SETTINGS, tmp_path / "shifted.mp4", seconds=3.0, seed=4, shift=shift)
    before, after = _decode(plain), _decode(shifted)
    first_shifted = 12  # 1.5 s at 8 fps

    # Equal scenes up to the encoder (x264's rate control looks ahead at the shifted frames).
    assert np.abs(before[:first_shifted] - after[:first_shifted]).mean() < 2
    assert after[first_shifted:].mean() < 0.6 * before[first_shifted:].mean()
    darker_only = before[first_shifted:] * shift.sizes.brightness_gain
    assert np.abs(after[first_shifted:] - darker_only).mean() > 10  # and noisy
    timeline = json.loads(timeline_path(shifted).read_text())
    assert timeline["shift"] == {"kinds": ["brightness", "noise"], "start_s": 1.5}
    assert timeline["segments"] == json.loads(timeline_path(plain).read_text())["segments"]  # same script


def test_a_new_background_applies_to_the_clips_that_start_after_the_shift(tmp_path: Path) -> None:
    plain = _decode(write_camera_feed(SETTINGS, tmp_path / "plain.mp4", seconds=3.0, seed=4))
    shifted = _decode(write_camera_feed(SETTINGS, tmp_path / "shifted.mp4", seconds=3.0, seed=4,
                                        shift=FeedShift(kinds=["background"], start_s=1.5)))
    # Clips start at 0, 1 and 2 s: the one starting at 2 s (frame 16) is the first on the new background.
    assert np.abs(plain[:16] - shifted[:16]).mean() < 2
    assert np.abs(plain[16:] - shifted[16:]).mean() > 20


def test_a_new_action_mix_is_not_a_feed_shift(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="action_mix"):
        write_camera_feed(SETTINGS, tmp_path / "feed.mp4", seconds=1.0,
                          shift=FeedShift(kinds=["action_mix"], start_s=0.5))
