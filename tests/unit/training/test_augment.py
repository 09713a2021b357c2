import io
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support.streams import TerminalStream
from tests.unit.training.tiny_videos import write_ucf_layout
from training.augment import (
    AugmentSettings,
    BatchMixer,
    augment_frames,
    build_clip_augmentation,
    write_augmented_copy,
)
from training.ucf101 import Ucf101Index
from training.video import read_video_frames

STRONG = AugmentSettings(cutout_probability=1.0, affine_degrees=20.0, hue=0.1)


def _repeated_frame_clip(num_frames: int = 4, seed: int = 0) -> torch.Tensor:
    frame = torch.randint(0, 256, (3, 24, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))
    return frame.unsqueeze(0).repeat(num_frames, 1, 1, 1)


def test_one_draw_covers_every_frame_of_a_clip() -> None:
    torch.manual_seed(0)
    clip = _repeated_frame_clip()

    augmented = build_clip_augmentation(STRONG)(clip)

    assert augmented.shape == clip.shape and augmented.dtype == torch.uint8
    assert not torch.equal(augmented[0], clip[0])  # something was applied
    for frame in augmented[1:]:
        assert torch.equal(frame, augmented[0])


def test_different_clips_get_different_draws_and_a_seed_repeats_them() -> None:
    augmentation = build_clip_augmentation(STRONG)
    clip = _repeated_frame_clip()

    torch.manual_seed(1)
    first, second = augmentation(clip), augmentation(clip)
    torch.manual_seed(1)
    repeated = augmentation(clip)

    assert not torch.equal(first, second)
    assert torch.equal(first, repeated)


def test_float_clips_stay_float_in_unit_range_and_output_size_applies() -> None:
    torch.manual_seed(2)
    clip = _repeated_frame_clip().float() / 255

    augmented = build_clip_augmentation(AugmentSettings(output_size=16))(clip)

    assert augmented.shape == (4, 3, 16, 16) and augmented.dtype == torch.float32
    assert augmented.min() >= 0.0 and augmented.max() <= 1.0


def test_disabled_augmentation_is_identity() -> None:
    clip = _repeated_frame_clip()

    assert build_clip_augmentation(AugmentSettings(enabled=False))(clip) is clip


def test_clip_must_be_t_c_h_w() -> None:
    with pytest.raises(ValueError, match=r"\[T, C, H, W\]"):
        build_clip_augmentation(STRONG)(torch.zeros(4, 24, 32, 3, dtype=torch.uint8))


def test_augment_frames_keeps_the_t_h_w_c_layout() -> None:
    frames = _repeated_frame_clip().permute(0, 2, 3, 1).numpy()

    augmented = augment_frames(frames, build_clip_augmentation(STRONG))

    assert augmented.shape == frames.shape and augmented.dtype == np.uint8


def test_mixup_mixes_whole_clips_with_matching_soft_targets() -> None:
    torch.manual_seed(3)
    batch = torch.rand(2, 3, 3, 8, 8)
    mixer = BatchMixer(AugmentSettings(mixup_alpha=0.4, cutmix_alpha=0.0, mix_probability=1.0), num_classes=3)

    mixed, targets = mixer(batch, torch.tensor([0, 2]))

    weight = targets[0, 0].item()  # clip 0 keeps weight lambda on its own class 0, 1 - lambda on class 2
    assert targets[0].tolist() == pytest.approx([weight, 0.0, 1 - weight])
    torch.testing.assert_close(mixed[0], weight * batch[0] + (1 - weight) * batch[1])
    torch.testing.assert_close(targets.sum(dim=1), torch.ones(2))


def test_cutmix_pastes_the_same_box_into_every_frame() -> None:
    torch.manual_seed(4)
    batch = torch.stack([torch.zeros(3, 3, 16, 16), torch.ones(3, 3, 16, 16)])
    mixer = BatchMixer(AugmentSettings(mixup_alpha=0.0, cutmix_alpha=1.0, mix_probability=1.0), num_classes=2)

    mixed, targets = mixer(batch, torch.tensor([0, 1]))

    pasted = mixed[0] == 1.0  # clip 0 is zeros; ones come from clip 1
    for frame in pasted[1:]:
        assert torch.equal(frame, pasted[0])
    assert targets[0, 1].item() == pytest.approx(pasted.float().mean().item())


def test_unmixed_batch_comes_back_with_one_hot_targets() -> None:
    batch = torch.rand(2, 3, 3, 8, 8)

    mixed, targets = BatchMixer(AugmentSettings(mix_probability=0.0), num_classes=3)(batch, torch.tensor([1, 2]))

    assert mixed is batch
    assert targets.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def test_offline_mode_writes_an_augmented_ucf101_copy(tmp_path: Path) -> None:
    source = Ucf101Index.from_folder(write_ucf_layout(tmp_path / "source"))
    torch.manual_seed(5)

    copy = write_augmented_copy(source, tmp_path / "augmented", STRONG, copies=2)

    assert copy.classes == source.classes
    assert len(copy.train) == 3 * len(source.train)  # originals + 2 augmented each
    assert [item.video_id for item in copy.test] == [item.video_id for item in source.test]
    augmented = next(item for item in copy.train if item.video_id.endswith("_aug1"))
    original = next(item for item in source.train if item.video_id == augmented.video_id.removesuffix("_aug1"))
    assert augmented.label == original.label
    decoded, reference = read_video_frames(augmented.path), read_video_frames(original.path)
    assert decoded.frames.shape == reference.frames.shape
    assert not np.array_equal(decoded.frames, reference.frames)


def test_offline_mode_skips_corrupt_training_videos(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = write_ucf_layout(tmp_path / "source")
    (root / "UCF-101" / "BoxingBag" / "v_BoxingBag_g01_c01.mp4").write_bytes(b"garbage" * 40)
    source = Ucf101Index.from_folder(root)

    copy = write_augmented_copy(source, tmp_path / "augmented", STRONG, copies=2)

    assert {item.class_name for item in copy.train} == {"ApplyEyeMakeup"}
    assert len(copy.train) == 3
    assert "corrupt" in caplog.text


@pytest.mark.parametrize(("stream", "shown"), [(io.StringIO(), False), (TerminalStream(), True)])
def test_the_progress_bar_shows_only_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   stream: io.StringIO, shown: bool) -> None:
    source = Ucf101Index.from_folder(write_ucf_layout(tmp_path / "source"))
    monkeypatch.setattr(sys, "stderr", stream)  # a log file, then a terminal
    write_augmented_copy(source, tmp_path / "augmented", STRONG, copies=1)
    assert ("augment" in stream.getvalue()) == shown
