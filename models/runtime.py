"""Serving-side use of a model bundle, in the two stages of the stream (../shared/ARCHITECTURE.md):

stage 1, per frame: `encode` (encoder backend -> X_i) and `frame_scores` (delta_i);
stage 2, per window: `select` (global selector + fusion -> top-n in time order), then `classify` the n frames.
Training, evaluation and serving share the bundle's preprocessing and name table through this class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from models.backends import BackendOptions, EncoderBackend, EncoderOutput, create_backend
from models.bundle import ModelBundle
from models.classifiers import HeavyClassifier, tsn_consensus
from models.export import ENCODER_INT8_ONNX
from models.representation import frame_representation
from models.selectors import create_strategy, needs_models
from models.selectors.gamma_path import GammaScorer, OnnxGamma, TorchGamma
from models.selectors.global_selector import draw_partners

AUTO_PRECISION = "auto"

# Where stage 2 runs the global selector's gamma: ONNX Runtime (exported when first needed; int8 LSTM weights
# when the encoder runs int8) or torch. Measured by `actionstream bench gamma`, see models/selectors/gamma_path.py.
GammaBackend = Literal["onnxruntime", "torch"]


def resolve_precision(precision: str, backend: str, device: str, model_dir: Path) -> str:
    """The encoder precision to run. "auto": int8 through ONNX Runtime on a CPU when the bundle carries the int8
    encoder, fp32 anywhere else; any other value is taken as asked. Measured with the production model on the
    synthetic test split: int8 and fp32 predicted the same class for 17 of 18 clips (accuracy 0.83 vs 0.78) at
    two thirds of the encoder's CPU per frame."""
    if precision != AUTO_PRECISION:
        return precision
    on_cpu = backend == "onnxruntime" and device == "cpu"
    return "int8" if on_cpu and (model_dir / ENCODER_INT8_ONNX).exists() else "fp32"


@dataclass(frozen=True)
class WarmUp:
    """What a process will run its model on, a part it does not run left out: encoder passes of these sizes
    (stage 1, with the single-frame selector), windows of this many candidates (stage 2's global selector), clips
    (the classifier, at the bundle's n)."""

    encoder_passes: tuple[int, ...] = ()
    window_frames: int = 0
    clips: bool = False


class SmartRuntime:
    def __init__(self, bundle: ModelBundle, backend: EncoderBackend, gamma_backend: GammaBackend = "torch",
                 gamma_threads: int = 1) -> None:
        self.bundle = bundle
        self.backend = backend
        self.selector_models = bundle.selector_models().eval()
        self.gamma_backend = gamma_backend
        self.gamma_threads = gamma_threads
        self._gamma: GammaScorer | None = None  # built at the first window (the warm-up's, when serving)

    @classmethod
    def from_directory(
        cls, directory: Path, backend: str = "onnxruntime", precision: str = "fp32", device: str = "cpu",
        num_threads: int = 0, allow_spinning: bool = True, gamma_backend: GammaBackend = "onnxruntime",
        gamma_threads: int = 1,
    ) -> SmartRuntime:
        precision = resolve_precision(precision, backend, device, directory)
        options = BackendOptions(model_dir=directory, precision=precision, device=device, num_threads=num_threads,
                                 allow_spinning=allow_spinning)
        return cls(ModelBundle.load(directory), create_backend(backend, options), gamma_backend, gamma_threads)

    def warm_up(self, plan: WarmUp) -> None:
        """Run each part the plan names once on blank inputs of the sizes it names, so that the runtimes' one-time
        costs (memory arenas, kernel choices, lazy initialisation) are not paid by the first frame, window or clip.
        Measured on 2 cores: a first encoder pass cost 12-15 ms more than the next, a first global selector call
        6-11 ms more. A window plan also builds the global selector's ONNX Runtime session here (an export in a
        child process, seconds)."""
        size = self.bundle.preprocessing.image_size
        dim = self.bundle.manifest.architecture.representation_dim
        for frames in sorted(set(plan.encoder_passes)):
            self.frame_scores(self.represent(self.run_encoder(np.zeros((frames, 3, size, size), np.float32))))
        if plan.window_frames:
            self.global_scores(np.zeros((plan.window_frames, dim), np.float32))
        if plan.clips:
            clip = self.bundle.manifest.num_frames
            rgb = [np.zeros((clip, size, size, 3), np.uint8)] if self.needs_frames else None
            self.classify_batch([np.zeros((clip, dim), np.float32)], rgb)

    @property
    def classes(self) -> list[str]:
        return self.bundle.classes

    def encode(self, frames: np.ndarray, pass_size: int | None = None) -> np.ndarray:
        """RGB uint8 frames [N,H,W,3] -> X [N,D], in encoder passes of at most `pass_size` frames (None: one)."""
        return self.represent(self.run_encoder(self.bundle.preprocessing(frames), pass_size))

    def run_encoder(self, images: np.ndarray, pass_size: int | None = None) -> EncoderOutput:
        """Preprocessed images [N,3,S,S] through the encoder backend in passes of at most `pass_size` images: on
        a CPU, small passes cost less per image than one big one (their activations stay in the cache)."""
        step = pass_size or len(images)
        outputs = [self.backend.run(images[first:first + step]) for first in range(0, len(images), step)]
        if len(outputs) == 1:
            return outputs[0]
        return EncoderOutput(features=np.concatenate([output.features for output in outputs]),
                             logits=np.concatenate([output.logits for output in outputs]))

    def represent(self, output: EncoderOutput) -> np.ndarray:
        """The frame representation X [N,D] of the encoder's output."""
        return frame_representation(output.features, output.logits, self.bundle.name_table,
                                    self.bundle.manifest.architecture.top_k_names)

    @torch.no_grad()
    def frame_scores(self, representation: np.ndarray) -> np.ndarray:
        """delta_i for each frame: [N,D] -> [N]."""
        return self.selector_models.single.scores(torch.from_numpy(representation)).numpy()

    def global_scores(self, representation: np.ndarray, seed: int = 0) -> np.ndarray:
        """gamma_t of every frame of one window [T,D] -> [T], averaged over the bundle's partner draws; the draws
        are seeded, so a window replayed after a restart gets the same scores."""
        scorer = self.gamma_scorer()
        mask = torch.ones((1, len(representation)), dtype=torch.bool)
        generator = torch.Generator().manual_seed(seed)
        draws = self.selector_models.global_draws
        total = np.zeros(len(representation), np.float32)
        for _ in range(draws):
            total += scorer(representation, draw_partners(mask, generator)[0].numpy())
        return total / draws

    def gamma_scorer(self) -> GammaScorer:
        """The global selector's gamma path on the configured backend, int8 where the encoder runs int8."""
        if self._gamma is None:
            selector = self.selector_models.global_
            if self.gamma_backend == "torch":
                self._gamma = TorchGamma(selector)
            else:
                precision = "int8" if self.backend.precision == "int8" else "fp32"
                self._gamma = OnnxGamma(selector, precision, self.gamma_threads)
        return self._gamma

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

    @property
    def needs_frames(self) -> bool:
        """Whether classification needs the selected RGB frames (heavy classifier), not only their X."""
        return isinstance(self.bundle.classifier, HeavyClassifier)

    def classify(self, representation: np.ndarray, frames: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities [C] of one clip from its selected frames' X [n,D] (shared classifier) or their
        RGB frames [n,H,W,3] (heavy classifier), TSN consensus."""
        return self.classify_batch([representation], None if frames is None else [frames])[0]

    @torch.no_grad()
    def classify_batch(self, representations: list[np.ndarray], frames: list[np.ndarray] | None = None) -> np.ndarray:
        """Class probabilities [B,C] of B clips in one classifier pass: every clip's frames go through the
        classifier together, then TSN consensus per clip. Clips may hold different numbers of frames."""
        classifier = self.bundle.classifier
        if isinstance(classifier, HeavyClassifier):
            if frames is None:
                raise ValueError("the heavy classifier needs the selected RGB frames")
            sizes = [len(clip) for clip in frames]
            logits = classifier(torch.cat([self.bundle.preprocessing.to_tensor(clip) for clip in frames]))
        else:
            sizes = [len(clip) for clip in representations]
            logits = classifier(torch.from_numpy(np.concatenate(representations).astype(np.float32, copy=False)))
        padded = nn.utils.rnn.pad_sequence(list(torch.split(logits, sizes)), batch_first=True)
        mask = torch.arange(padded.shape[1]).unsqueeze(0) < torch.tensor(sizes).unsqueeze(1)
        return tsn_consensus(padded, mask).numpy()
