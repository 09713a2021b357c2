from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from models.motion import (
    CameraMotionState,
    MotionEncoder,
    MotionSettings,
    PixelCounting,
    aligned_difference,
    clip_motion_stacks,
    energy_flops_per_window,
    gray_frame,
    shake_offset,
    window_motion_energy,
)

SETTINGS = MotionSettings(output_size=16)


def _scene(seed: int = 0, size: int = 64) -> np.ndarray:
    """A textured static background, larger than the frame so a shaken crop stays inside it."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(40, 220, size=(size // 4 + 4, size // 4 + 4, 3), dtype=np.uint8)
    return np.repeat(np.repeat(coarse, 4, axis=0), 4, axis=1)


def _frame(scene: np.ndarray, dy: int, dx: int, square_at: int | None = None, size: int = 64) -> np.ndarray:
    frame = scene[8 + dy:8 + dy + size, 8 + dx:8 + dx + size].copy()
    if square_at is not None:
        frame[20:30, square_at:square_at + 10] = 255
    return frame


def test_shake_offset_undoes_a_pure_camera_shift() -> None:
    scene = _scene()
    previous, current = gray_frame(_frame(scene, 0, 0)), gray_frame(_frame(scene, 3, -2))
    assert shake_offset(previous, current, SETTINGS) == (-3, 2)
    unaligned = np.abs(current - previous)[8:-8, 8:-8].mean() / SETTINGS.scale
    # What remains is the frames' different mean brightness (each is scaled to mean 128), under a grey level.
    assert np.abs(aligned_difference(previous, current, SETTINGS)).max() < min(0.05, unaligned / 20)


def test_a_moving_square_remains_after_the_shake_is_undone() -> None:
    scene = _scene()
    previous = gray_frame(_frame(scene, 0, 0, square_at=10))
    current = gray_frame(_frame(scene, 2, 1, square_at=30))
    difference = np.abs(aligned_difference(previous, current, SETTINGS))  # 16x16 cells of 4x4 pixels
    assert difference[5:7, 2:5].mean() > 10 * difference[12:, :].mean()  # where the square was and went


def test_gray_frame_ignores_a_global_lighting_change() -> None:
    frame = _frame(_scene(), 0, 0)
    brighter = np.clip(frame.astype(np.float32) * 1.08, 0, 255).astype(np.uint8)
    assert np.abs(gray_frame(brighter) - gray_frame(frame)).mean() < 1.5


def test_camera_state_gives_the_stacks_training_computes_and_zeros_before_the_first_frame() -> None:
    scene = _scene(1)
    frames = np.stack([_frame(scene, t % 3, -(t % 2), square_at=4 + 6 * t) for t in range(5)])
    stacks = clip_motion_stacks(frames, SETTINGS)
    assert stacks.shape == (5, 3, 16, 16)
    assert not stacks[0].any() and not stacks[1, 1:].any()  # nothing before the first frame
    np.testing.assert_array_equal(stacks[3, 1], stacks[2, 0])  # a frame's stack carries its predecessor's
    camera = CameraMotionState(SETTINGS)
    for frame, expected in zip(frames, stacks, strict=True):
        np.testing.assert_array_equal(camera.push(frame), expected)


def test_motion_encoder_pools_over_space() -> None:
    encoder = MotionEncoder(stack_depth=3, width=8).eval()
    stacks = torch.zeros(2, 3, 96, 96)
    stacks[0, :, 30:34, 30:34] = 1.0
    stacks[1, :, 46:50, 62:66] = 1.0  # the same blob elsewhere (by multiples of the total stride, 16)
    with torch.no_grad():
        features = encoder(stacks)
    assert features.shape == (2, encoder.output_dim) == (2, 16)
    # Max pooling: the same up to the zero padding at the borders, which the two places see differently.
    np.testing.assert_allclose(features[0, :8].numpy(), features[1, :8].numpy(), rtol=0.05, atol=1e-3)


def test_window_motion_energy_prefers_a_sustained_burst_over_a_single_spike() -> None:
    stacks = np.full((1, 10, 3, 4, 4), 0.1, dtype=np.float32)
    stacks[0, 0] = 0.0  # no predecessor
    stacks[0, 2, 0] = 3.0  # one candidate's spike (a ball)
    stacks[0, 6:9, 0] = 2.0  # three candidates of a burst
    energy = window_motion_energy(stacks)
    assert np.isneginf(energy[0, 0])
    assert set(np.argsort(-energy[0])[:3].tolist()) == {6, 7, 8}
    assert energy.shape == (1, 10)
    assert np.argmax(window_motion_energy(stacks, smoothing=1)[0]) == 2  # unsmoothed, the spike wins


def _swaying_clip() -> np.ndarray:
    """Noise of 0.1 everywhere; candidate 2 sways (the whole frame moves a little), candidate 5 holds a limb's
    large motion on 4 pixels. In total |difference| the sway (64 x 0.5) outweighs the limb (4 x 3 + 60 x 0.1)."""
    stacks = np.full((1, 8, 3, 8, 8), 0.1, dtype=np.float32)
    stacks[0, 0] = 0.0  # no predecessor
    stacks[0, 2, 0] = 0.5
    stacks[0, 5, 0, 2:4, 2:4] = 3.0
    return stacks


ABOVE_TWICE_OWN_MEDIAN = PixelCounting(threshold=2.0, baseline="pixel", pooling=2)


def test_window_motion_energy_threshold_keeps_large_motion_and_drops_sway() -> None:
    stacks = _swaying_clip()
    assert np.argmax(window_motion_energy(stacks, smoothing=1)[0]) == 2
    for threshold in (4.0, 8.0):  # 0.4 and 0.8 against the median pixel's 0.1
        energy = window_motion_energy(stacks, smoothing=1, counting=PixelCounting(threshold=threshold))
        assert np.argmax(energy[0]) == 5
        assert np.isneginf(energy[0, 0])
    np.testing.assert_array_equal(window_motion_energy(stacks, counting=PixelCounting(threshold=0.0)),
                                  window_motion_energy(stacks))


def test_window_motion_energy_pixel_baseline_drops_what_moves_at_one_place_all_window_long() -> None:
    """A ball moving at one place in every candidate passes the window's median threshold; against each pixel's
    own median over the window only the place that moves for a while counts."""
    stacks = np.full((2, 8, 3, 9, 9), 0.05, dtype=np.float32)  # odd side: the pooling drops the last row, column
    stacks[:, 0] = 0.0  # no predecessor
    stacks[:, 1:, 0, 4:8, 4:8] = 1.0 + 0.2 * np.arange(7, dtype=np.float32)[:, None, None]  # the ball, speeding up
    stacks[:, 3, 0, 0:2, 0:2] = 3.0  # the limb, once
    window = window_motion_energy(stacks, smoothing=1, counting=PixelCounting(threshold=2.0))
    pixel = window_motion_energy(stacks, smoothing=1, counting=ABOVE_TWICE_OWN_MEDIAN)
    assert np.argmax(window[0]) == 7
    assert np.argmax(pixel[0]) == 3
    assert np.isneginf(pixel[:, 0]).all()
    np.testing.assert_array_equal(pixel[0], pixel[1])


def test_window_motion_energy_pixel_baseline_of_a_window_without_predecessors_is_quiet() -> None:
    """Every candidate without a predecessor: no pixel has a median, and no warning says so."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        energy = window_motion_energy(np.zeros((1, 4, 3, 4, 4), dtype=np.float32), counting=ABOVE_TWICE_OWN_MEDIAN)
    assert np.isneginf(energy).all()


def test_the_energy_costs_more_with_each_pixels_own_median() -> None:
    plain = energy_flops_per_window(32, 112, PixelCounting(threshold=0.0, baseline="pixel"))
    assert plain == 2 * 32 * 112 * 112 == energy_flops_per_window(32, 112, PixelCounting())
    assert energy_flops_per_window(32, 112, PixelCounting(threshold=2.0)) == 5 * 32 * 112 * 112
    # the absolute value and the pooling 2 a pixel; a pooled pixel and step: a median of 32 values (5
    # comparisons), the subtraction and clipping, the sum; the area adds its noise floor and comparison
    assert energy_flops_per_window(32, 112, ABOVE_TWICE_OWN_MEDIAN) == 2 * 32 * 112 * 112 + 32 * 56 * 56 * (5 + 3)
    area = PixelCounting(threshold=1.5, baseline="pixel", pooling=4, measure="area", noise_floor=4.0)
    assert energy_flops_per_window(32, 112, area) == 2 * 32 * 112 * 112 + 32 * 28 * 28 * (5 + 3 + 2)


def test_the_area_counts_a_faint_limb_by_its_size_not_a_bright_ball_by_its_contrast() -> None:
    """A small ball passes each candidate, over a background of high contrast to it once; a larger, faint limb moves
    in two. Adding up the excess, the ball's contrast wins; counting the pixels above the noise floor, the limb's
    size does."""
    rng = np.random.default_rng(0)
    stacks = rng.normal(0.0, 0.05, size=(1, 8, 3, 16, 16)).astype(np.float32)  # sensor noise
    stacks[0, 0] = 0.0  # no predecessor
    for step in range(1, 8):  # the ball, 2x2 px, somewhere new each candidate
        stacks[0, step, 0, 2 * step:2 * step + 2, 0:2] = 60.0 if step == 7 else 2.0
    stacks[0, 4:6, 0, 8:16, 8:16] = 0.8  # the limb, 8x8 px, faint
    counting = PixelCounting(threshold=1.5, baseline="pixel", measure="magnitude")
    magnitude = window_motion_energy(stacks, smoothing=1, counting=counting)
    area = window_motion_energy(stacks, smoothing=1, counting=counting.model_copy(
        update={"measure": "area", "noise_floor": 4.0}))
    assert np.argmax(magnitude[0]) == 7  # the ball at its highest contrast
    assert set(np.argsort(-area[0])[:2]) == {4, 5}
    assert np.isneginf(area[0, 0])


def test_a_noise_floor_belongs_to_the_area_measure() -> None:
    with pytest.raises(ValidationError, match="noise_floor is the area measure's margin"):
        PixelCounting(noise_floor=2.0)
