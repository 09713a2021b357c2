"""Clip-consistent augmentation: one random draw per clip, applied to every frame.

torchvision's transforms v2 draw their parameters once per call, and a ``tv_tensors.Video`` [T, C, H, W]
is one sample, so one call covers the whole clip. Mixup and CutMix mix whole clips of a batch and return
soft targets. Online mode: call the augmentation in the data loader; offline mode: write an augmented
UCF101-layout copy with ``write_augmented_copy``.
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torchvision import tv_tensors
from torchvision.transforms import v2
from tqdm import tqdm

from training.ucf101 import CLASS_INDEX_FILENAME, LISTS_DIRNAME, VIDEOS_DIRNAME, Ucf101Index, VideoItem
from training.video import CorruptVideoError, read_video_frames, write_video

logger = logging.getLogger(__name__)

Range = tuple[float, float]
ClipTransform = Callable[[torch.Tensor], torch.Tensor]


class AugmentSettings(BaseModel):
    """Augmentation strengths; a zero strength (or probability) switches that augmentation off."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    output_size: int | None = Field(None, ge=8, description="square output side; None keeps H x W")
    crop_scale: Range = Field((0.6, 1.0), description="random resized crop: area fraction range")
    crop_ratio: Range = Field((3 / 4, 4 / 3), description="random resized crop: aspect ratio range")
    affine_degrees: float = Field(10.0, ge=0.0, description="random affine: max rotation (degrees)")
    affine_translate: float = Field(0.1, ge=0.0, le=1.0, description="random affine: max shift fraction")
    affine_scale: Range = Field((0.9, 1.1), description="random affine: zoom range")
    affine_shear: float = Field(5.0, ge=0.0, description="random affine: max shear (degrees)")
    brightness: float = Field(0.3, ge=0.0)
    contrast: float = Field(0.3, ge=0.0)
    saturation: float = Field(0.3, ge=0.0)
    hue: float = Field(0.05, ge=0.0, le=0.5)
    cutout_probability: float = Field(0.5, ge=0.0, le=1.0, description="chance of one erased box per clip")
    cutout_scale: Range = Field((0.02, 0.15), description="erased box area fraction range")
    mixup_alpha: float = Field(0.2, ge=0.0, description="Beta(alpha, alpha) for Mixup; 0 disables")
    cutmix_alpha: float = Field(1.0, ge=0.0, description="Beta(alpha, alpha) for CutMix; 0 disables")
    mix_probability: float = Field(0.5, ge=0.0, le=1.0, description="chance a batch is mixed at all")

    @model_validator(mode="after")
    def _ranges_ordered(self) -> AugmentSettings:
        for name in ("crop_scale", "crop_ratio", "affine_scale", "cutout_scale"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must satisfy 0 < low <= high, got {(low, high)}")
        return self


class ClipAugmentation:
    """Random resized crop, affine, colour jitter and Cutout with one draw per clip [T, C, H, W]."""

    def __init__(self, settings: AugmentSettings) -> None:
        self.settings = settings

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        if clip.dim() != 4 or clip.shape[1] not in (1, 3):
            raise ValueError(f"expected a clip [T, C, H, W], got {tuple(clip.shape)}")
        if not self.settings.enabled:
            return clip
        size = self.settings.output_size
        output_size = (size, size) if size is not None else (clip.shape[-2], clip.shape[-1])
        augmented = self._transform(output_size)(tv_tensors.Video(clip))
        return augmented.as_subclass(torch.Tensor)

    def _transform(self, output_size: tuple[int, int]) -> v2.Compose:
        s = self.settings
        steps: list[v2.Transform] = [v2.RandomResizedCrop(output_size, scale=s.crop_scale, ratio=s.crop_ratio)]
        if s.affine_degrees or s.affine_translate or s.affine_scale != (1.0, 1.0) or s.affine_shear:
            steps.append(
                v2.RandomAffine(
                    degrees=s.affine_degrees,
                    translate=(s.affine_translate, s.affine_translate),
                    scale=s.affine_scale,
                    shear=s.affine_shear,
                )
            )
        if s.brightness or s.contrast or s.saturation or s.hue:
            steps.append(v2.ColorJitter(s.brightness, s.contrast, s.saturation, s.hue))
        if s.cutout_probability:
            steps.append(v2.RandomErasing(p=s.cutout_probability, scale=s.cutout_scale, value=0))
        return v2.Compose(steps)


def build_clip_augmentation(settings: AugmentSettings) -> ClipTransform:
    """The per-clip augmentation for online training (identity when ``settings.enabled`` is false)."""
    return ClipAugmentation(settings)


class BatchMixer:
    """Mixup or CutMix on a batch of clips [B, T, C, H, W] (or images [B, C, H, W]) with soft targets.

    With probability ``mix_probability`` one of the enabled mixes is applied (chosen at random);
    otherwise the clips pass unchanged and the targets come back one-hot, so the loss always sees [B, C].
    """

    def __init__(self, settings: AugmentSettings, num_classes: int) -> None:
        self.settings = settings
        self.num_classes = num_classes
        self._mixes: list[v2.Transform] = []
        if settings.enabled and settings.mixup_alpha > 0:
            self._mixes.append(v2.MixUp(alpha=settings.mixup_alpha, num_classes=num_classes))
        if settings.enabled and settings.cutmix_alpha > 0:
            self._mixes.append(v2.CutMix(alpha=settings.cutmix_alpha, num_classes=num_classes))

    def __call__(self, batch: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        one_hot = torch.nn.functional.one_hot(labels.long(), self.num_classes).float()
        if not self._mixes or torch.rand(()).item() >= self.settings.mix_probability:
            return batch, one_hot
        mix = self._mixes[int(torch.randint(len(self._mixes), ()).item())]
        wrapped = tv_tensors.Video(batch) if batch.dim() == 5 else tv_tensors.Image(batch)
        mixed, soft_targets = mix(wrapped, labels.long())
        return mixed.as_subclass(torch.Tensor), soft_targets


def mix_batch(
    batch: torch.Tensor, labels: torch.Tensor, settings: AugmentSettings, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One-off Mixup/CutMix of a batch; see ``BatchMixer``."""
    return BatchMixer(settings, num_classes)(batch, labels)


def augment_frames(frames: np.ndarray, augmentation: ClipTransform) -> np.ndarray:
    """Apply a clip augmentation to uint8 RGB frames [T, H, W, 3] and return the same layout."""
    clip = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    return augmentation(clip).permute(0, 2, 3, 1).contiguous().numpy()


def write_augmented_copy(
    index: Ucf101Index,
    out_dir: Path,
    settings: AugmentSettings,
    copies: int,
    fallback_fps: float = 25.0,
    progress: bool | None = None,
) -> Ucf101Index:
    """Write a UCF101-layout copy of ``index``: originals plus ``copies`` augmented versions of each
    training video (test videos are copied unchanged). Corrupt videos are logged and left out.

    ``fallback_fps`` is used for clips whose container states no frame rate. The progress bar shows when
    ``progress`` is True, or by default when stderr is a terminal (in a log file each update adds a line).
    Returns the index of the new folder (same split number).
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    out_dir = Path(out_dir)
    augmentation = build_clip_augmentation(settings)
    train_lines: list[str] = []
    shown = sys.stderr.isatty() if progress is None else progress
    for item in tqdm(index.train, desc="augment", unit="video", disable=not shown):
        try:
            decoded = read_video_frames(item.path)
        except CorruptVideoError as error:
            logger.warning("skipping corrupt video %s: %s", error.path, error.reason)
            continue
        train_lines.append(_copy_original(item, out_dir))
        for copy_number in range(1, copies + 1):
            relative = f"{item.video_id}_aug{copy_number}.avi"
            frames = augment_frames(decoded.frames, augmentation)
            write_video(out_dir / VIDEOS_DIRNAME / relative, frames, decoded.fps or fallback_fps)
            train_lines.append(f"{relative} {item.label + 1}")
    test_lines = [_copy_original(item, out_dir).split()[0] for item in index.test]
    lists_dir = out_dir / LISTS_DIRNAME
    lists_dir.mkdir(parents=True, exist_ok=True)
    class_lines = [f"{label + 1} {name}" for label, name in enumerate(index.classes)]
    (lists_dir / CLASS_INDEX_FILENAME).write_text("\n".join(class_lines) + "\n")
    (lists_dir / f"trainlist{index.split:02d}.txt").write_text("\n".join(train_lines) + "\n")
    (lists_dir / f"testlist{index.split:02d}.txt").write_text("\n".join(test_lines) + "\n")
    logger.info("wrote augmented copy at %s: %d train, %d test entries", out_dir, len(train_lines), len(test_lines))
    return Ucf101Index.from_folder(out_dir, split=index.split)


def _copy_original(item: VideoItem, out_dir: Path) -> str:
    relative = f"{item.video_id}{item.path.suffix}"
    target = out_dir / VIDEOS_DIRNAME / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(item.path, target)
    return f"{relative} {item.label + 1}"
