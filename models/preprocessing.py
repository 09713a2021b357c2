"""The one preprocessing path from RGB frames to encoder input, stored with every model bundle.

Training, evaluation, benchmarks and serving all call `Preprocessing.__call__`, so a frame is resized and
normalised identically everywhere; the settings travel as JSON inside the bundle.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

# EfficientNet-Lite was trained on inputs scaled to about [-1, 1] (TF-Lite convention), not ImageNet
# mean/std: with these constants the shipped weights label a daisy photo "daisy", with ImageNet's they do not.
LITE_MEAN = (127.0, 127.0, 127.0)
LITE_STD = (128.0, 128.0, 128.0)


class Preprocessing(BaseModel):
    """Resize RGB uint8 frames to a square and normalise them per channel."""

    model_config = ConfigDict(frozen=True)

    image_size: int = Field(224, description="Side of the square encoder input in pixels.")
    mean: tuple[float, float, float] = Field(LITE_MEAN, description="Per-channel mean on the 0-255 scale.")
    std: tuple[float, float, float] = Field(LITE_STD, description="Per-channel std on the 0-255 scale.")

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """uint8 [N,H,W,3] RGB (or one [H,W,3] frame) -> float32 [N,3,S,S], C-contiguous."""
        return self.to_tensor(frames).numpy()

    def to_tensor(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        """The same transform, returning a torch tensor (used by the heavy classifier's training)."""
        batch = torch.as_tensor(np.ascontiguousarray(frames) if isinstance(frames, np.ndarray) else frames)
        if batch.ndim == 3:
            batch = batch.unsqueeze(0)
        if batch.ndim != 4 or batch.shape[-1] != 3:
            raise ValueError(f"expected RGB frames [N,H,W,3], got shape {tuple(batch.shape)}")
        images = batch.permute(0, 3, 1, 2)
        if images.shape[-2:] != (self.image_size, self.image_size):
            images = F.interpolate(
                images.float(), size=(self.image_size, self.image_size), mode="bilinear", antialias=True,
                align_corners=False,
            ).contiguous()
        else:  # one pass from uint8 HWC to float32 CHW, into a tensor of our own (the next steps write in place)
            images = images.to(torch.float32, memory_format=torch.contiguous_format, copy=True)
        mean = torch.tensor(self.mean, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(1, 3, 1, 1)
        # In place, the same arithmetic as (images - mean) / std: two full-size temporaries fewer (stage 1 spent
        # 0.9 ms/frame here with them, 0.23 without).
        return images.sub_(mean).div_(std)

    def save(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2))

    @classmethod
    def load(cls, path: Path) -> Preprocessing:
        return cls.model_validate(json.loads(path.read_text()))
