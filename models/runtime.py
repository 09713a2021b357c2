"""Serving-side use of a model bundle, in the two stages of the stream (../shared/ARCHITECTURE.md):

stage 1, per frame: `encode` (encoder backend -> X_i) and `frame_scores` (delta_i);
stage 2, per window: `select` (global selector + fusion -> top-n in time order), then `classify` the n frames.
Training, evaluation and serving share the bundle's preprocessing and name table through this class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models.backends import BackendOptions, EncoderBackend, create_backend
from models.bundle import ModelBundle
from models.classifiers import HeavyClassifier, tsn_consensus
from models.representation import frame_representation
from models.selectors import create_strategy, needs_models


class SmartRuntime:
    def __init__(self, bundle: ModelBundle, backend: EncoderBackend) -> None:
        self.bundle = bundle
        self.backend = backend
        self.selector_models = bundle.selector_models().eval()

    @classmethod
    def from_directory(
        cls, directory: Path, backend: str = "onnxruntime", precision: str = "fp32", device: str = "cpu",
        num_threads: int = 0,
    ) -> SmartRuntime:
        options = BackendOptions(model_dir=directory, precision=precision, device=device, num_threads=num_threads)
        return cls(ModelBundle.load(directory), create_backend(backend, options))

    @property
    def classes(self) -> list[str]:
        return self.bundle.classes

    def encode(self, frames: np.ndarray) -> np.ndarray:
        """RGB uint8 frames [N,H,W,3] -> X [N,D]."""
        output = self.backend.run(self.bundle.preprocessing(frames))
        return frame_representation(output.features, output.logits, self.bundle.name_table,
                                    self.bundle.manifest.architecture.top_k_names)

    @torch.no_grad()
    def frame_scores(self, representation: np.ndarray) -> np.ndarray:
        """delta_i for each frame: [N,D] -> [N]."""
        return self.selector_models.single.scores(torch.from_numpy(representation)).numpy()

    def select(
        self, representation: np.ndarray, num_frames: int | None = None, strategy: str = "smart", seed: int = 0
    ) -> np.ndarray:
        """Indices (time order) of the frames of one window [T,D] to classify."""
        frames = torch.from_numpy(representation).unsqueeze(0)
        mask = torch.ones(frames.shape[:2], dtype=torch.bool)
        models = self.selector_models if needs_models(strategy) else None
        budget = num_frames or self.bundle.manifest.num_frames
        selection = create_strategy(strategy, models, seed).select(frames, mask, budget)
        return selection.indices[0][selection.mask[0]].numpy()

    @torch.no_grad()
    def classify(self, representation: np.ndarray, frames: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities [C] of one clip from its selected frames' X [n,D] (shared classifier) or their
        RGB frames [n,H,W,3] (heavy classifier), TSN consensus."""
        classifier = self.bundle.classifier
        if isinstance(classifier, HeavyClassifier):
            if frames is None:
                raise ValueError("the heavy classifier needs the selected RGB frames")
            logits = classifier(self.bundle.preprocessing.to_tensor(frames))
        else:
            logits = classifier(torch.from_numpy(representation))
        return tsn_consensus(logits.unsqueeze(0), torch.ones(1, len(logits), dtype=torch.bool))[0].numpy()
