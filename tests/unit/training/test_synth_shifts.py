"""Shift generators: each moves what it claims to, by its size, and nothing else of a clip's script."""

from __future__ import annotations

import numpy as np
import pytest

from processors.selector.scoring import quality_stats
from training.synth import SynthSettings, build_scene
from training.synth_scene import HEADROOM
from training.synth_shifts import (
    ShiftSettings,
    action_mix,
    add_noise,
    blur,
    clutter_background,
    darken,
    shift_frame,
    weakest_classes,
)


def _frame(seed: int = 0) -> np.ndarray:
    settings = SynthSettings(width=64, height=48, fps=8.0, seconds=1.5)
    scene = build_scene(0, settings, np.random.default_rng(seed))
    frame = np.empty((48, 64, 3), dtype=np.uint8)
    scene.render_into(0, frame)
    return frame


def test_darken_scales_brightness_by_the_gain() -> None:
    frame = _frame()
    brightness, _ = quality_stats(frame)
    darker, _ = quality_stats(darken(frame, 0.5))
    assert darker == pytest.approx(0.5 * brightness, rel=0.02)


def test_noise_raises_sharpness_and_keeps_brightness() -> None:
    frame = _frame()
    brightness, sharpness = quality_stats(frame)
    noisy = add_noise(frame, 20.0, np.random.default_rng(1))
    noisy_brightness, noisy_sharpness = quality_stats(noisy)
    assert noisy_sharpness > 5 * sharpness
    assert noisy_brightness == pytest.approx(brightness, abs=2.0)
    np.testing.assert_array_equal(noisy, add_noise(frame, 20.0, np.random.default_rng(1)))


def test_grainy_noise_shares_one_value_per_block() -> None:
    flat = np.full((6, 7, 3), 128, dtype=np.uint8)
    noisy = add_noise(flat, 10.0, np.random.default_rng(2), grain=3).astype(int)
    assert noisy.shape == flat.shape
    assert np.all(noisy[:3, :3] == noisy[0, 0]) and np.all(noisy[3:, 6:] == noisy[3, 6])
    assert noisy[0, 0, 0] != noisy[0, 3, 0]


def test_blur_lowers_sharpness_and_keeps_brightness() -> None:
    frame = _frame()
    brightness, sharpness = quality_stats(frame)
    blurred_brightness, blurred_sharpness = quality_stats(blur(frame, 2.0))
    assert blurred_sharpness < 0.5 * sharpness
    assert blurred_brightness == pytest.approx(brightness, abs=1.0)
    np.testing.assert_array_equal(blur(frame, 0.0), frame)


def test_shift_frame_dispatches_by_kind() -> None:
    frame, settings = _frame(), ShiftSettings(brightness_gain=0.5, blur_sigma=2.0)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(shift_frame("brightness", frame, settings, rng), darken(frame, 0.5))
    np.testing.assert_array_equal(shift_frame("blur", frame, settings, rng), blur(frame, 2.0))
    assert shift_frame("noise", frame, settings, rng).shape == frame.shape


def test_a_new_background_changes_the_scene_but_not_the_clip_script() -> None:
    settings = SynthSettings(width=64, height=48, fps=8.0, seconds=1.5)
    background = clutter_background(np.random.default_rng(3), 64, 48, blocks=10)
    assert background.dtype == np.uint8 and background.shape == (48, 64, 3)
    assert background.min() >= HEADROOM and background.max() <= 255 - HEADROOM
    plain = build_scene(2, settings, np.random.default_rng(5))
    moved = build_scene(2, settings, np.random.default_rng(5), background=background)
    assert plain.burst == moved.burst
    first, second = (np.empty((48, 64, 3), dtype=np.uint8) for _ in range(2))
    plain.render_into(0, first)
    moved.render_into(0, second)
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 10


def test_action_mix_puts_the_share_on_the_favoured_classes() -> None:
    mix = action_mix(5, [3], 0.8)
    assert mix.sum() == pytest.approx(1.0)
    assert mix[3] == pytest.approx(0.8)
    np.testing.assert_allclose(np.delete(mix, 3), 0.05)
    np.testing.assert_allclose(action_mix(3, [0, 1, 2], 0.5), 1 / 3)
    with_new = action_mix(5, [3], 1.0, new_kinds=3, new_share=0.3)
    assert with_new.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(with_new, [0, 0, 0, 0.7, 0, 0.1, 0.1, 0.1])
    with pytest.raises(ValueError):
        action_mix(5, [5], 0.8)
    with pytest.raises(ValueError):
        action_mix(5, [], 0.8)


def test_weakest_classes_are_the_least_accurate() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    correct = np.array([True, True, False, False, True, False])
    assert weakest_classes(correct, labels, 4, 2) == [1, 2]
