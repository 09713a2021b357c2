"""`heavy` classifier: a separate EfficientNet-Lite0, fine-tuned at full input size on the selected frames
(the paper's setting; SMART.md section 6). Clip prediction by TSN consensus over the n frames."""

from __future__ import annotations

import torch
from torch import nn

from models.encoder import load_efficientnet_lite0


class HeavyClassifier(nn.Module):
    """images [N,3,224,224] -> per-frame action logits [N,C]; starts from the ImageNet weights."""

    def __init__(self, num_classes: int, pretrained: bool = True) -> None:
        super().__init__()
        self.network = load_efficientnet_lite0(num_classes=num_classes, pretrained=pretrained)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images)
