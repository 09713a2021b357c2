from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.preprocessing import Preprocessing


def test_output_is_normalised_float_batch_at_the_input_size() -> None:
    frames = np.full((2, 40, 60, 3), 255, dtype=np.uint8)
    images = Preprocessing(image_size=32)(frames)
    assert images.shape == (2, 3, 32, 32)
    assert images.dtype == np.float32
    np.testing.assert_allclose(images, (255 - 127.0) / 128.0, rtol=1e-5)


def test_single_frame_gets_a_batch_axis_and_keeps_channel_order() -> None:
    frame = np.zeros((8, 8, 3), dtype=np.uint8)
    frame[..., 0] = 255  # pure red
    images = Preprocessing(image_size=8)(frame)
    assert images.shape == (1, 3, 8, 8)
    assert images[0, 0].min() > 0.99 and images[0, 1].max() < -0.99


def test_rejects_non_rgb_input() -> None:
    with pytest.raises(ValueError, match="RGB"):
        Preprocessing()(np.zeros((2, 8, 8), dtype=np.uint8))


def test_round_trips_through_json(tmp_path: Path) -> None:
    original = Preprocessing(image_size=96, mean=(1.0, 2.0, 3.0), std=(4.0, 5.0, 6.0))
    original.save(tmp_path / "p.json")
    assert Preprocessing.load(tmp_path / "p.json") == original


@pytest.mark.parametrize("shape", [(3, 16, 16, 3), (2, 20, 12, 3)])  # at the input size, and resized
def test_values_are_the_plain_formula_and_the_callers_frames_stay_untouched(shape: tuple[int, ...]) -> None:
    """The in-place normalisation gives exactly (x - mean) / std of the resized frames, bit for bit, and never
    writes into the caller's tensor (a float frame batch passed as torch is not modified)."""
    import torch
    import torch.nn.functional as F

    preprocessing = Preprocessing(image_size=16, mean=(120.0, 127.0, 130.0), std=(60.0, 64.0, 70.0))
    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)).float()
    before = frames.clone()
    images = frames.permute(0, 3, 1, 2)
    if images.shape[-2:] != (16, 16):
        images = F.interpolate(images, size=(16, 16), mode="bilinear", antialias=True, align_corners=False)
    expected = (images - torch.tensor(preprocessing.mean).view(1, 3, 1, 1)) / torch.tensor(
        preprocessing.std).view(1, 3, 1, 1)
    result = preprocessing.to_tensor(frames)
    assert torch.equal(result, expected.contiguous()) and result.is_contiguous()
    assert torch.equal(frames, before)
