"""A served model without an encoder: the classifier works on X_i that stage 1 computed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.backends import EncoderOutput
from models.bundle import Architecture, Manifest, ModelBundle, build_modules
from models.preprocessing import Preprocessing
from models.runtime import SmartRuntime
from processors.serving import ServedModel

CLASSES = ["walk", "run", "fall", "sit", "wave"]


class _NoEncoder:
    """The classifier works on X_i that stage 1 computed: it must never run the encoder."""

    name = "none"
    precision = "fp32"

    def run(self, images: np.ndarray) -> EncoderOutput:
        raise AssertionError("the classifier ran the frame encoder")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> ServedModel:
    torch.manual_seed(0)
    architecture = Architecture(shared_hidden_dim=16, single_hidden_dim=8, global_hidden_dim=8)
    single, global_, classifier = build_modules(architecture, num_classes=len(CLASSES))
    manifest = Manifest(classes=CLASSES, architecture=architecture, num_candidates=8, num_frames=4)
    directory = tmp_path_factory.mktemp("bundle")
    table = np.random.default_rng(0).normal(size=(1000, 384)).astype(np.float32)
    ModelBundle(manifest, Preprocessing(), table, single, global_, classifier.eval()).save(directory)
    return ServedModel(SmartRuntime(ModelBundle.load(directory), _NoEncoder()), "tiny/3")  # type: ignore[arg-type]


