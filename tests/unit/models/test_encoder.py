from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sklearn
import torch
from PIL import Image

from models.encoder import FEATURE_DIM, FrameEncoder
from models.preprocessing import Preprocessing
from models.text import imagenet_class_names

SAMPLE_IMAGES = Path(sklearn.__file__).parent / "datasets" / "images"


@pytest.fixture(scope="module")
def encoder() -> FrameEncoder:
    return FrameEncoder()


def test_one_pass_gives_pooled_features_and_imagenet_logits(encoder: FrameEncoder) -> None:
    features, logits = encoder(torch.zeros(2, 3, 224, 224))
    assert features.shape == (2, FEATURE_DIM)
    assert logits.shape == (2, 1000)
    assert not any(parameter.requires_grad for parameter in encoder.parameters())


def test_shipped_weights_are_really_imagenet_pretrained(encoder: FrameEncoder) -> None:
    photo = np.asarray(Image.open(SAMPLE_IMAGES / "flower.jpg").convert("RGB"))
    with torch.no_grad():
        _, logits = encoder(torch.from_numpy(Preprocessing()(photo)))
    assert imagenet_class_names()[int(logits.argmax())] == "daisy"
