"""Evaluation of a model bundle on any UCF101-layout folder: select n of T candidates, classify, report.

Used by `actionstream evaluate`, by the training pipeline on its test split and by the benchmarks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.backends import create_backend
from models.bundle import ModelBundle
from models.classifiers import HeavyClassifier, SharedHead
from models.encoder import FrameEncoder
from models.export import ENCODER_ONNX, export_encoder_onnx
from models.selectors import create_strategy, needs_models
from training.curation import CurationSettings
from training.features import FeatureExtractor, FeatureSet, backend_options
from training.metrics import classification_report
from training.scoring import ClipScorer, end_to_end
from training.smart_settings import FeatureSettings
from training.ucf101 import VideoItem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StrategyResult:
    strategy: str
    accuracy: float
    macro_f1: float
    frames_per_clip: float
    classifier_flops_per_clip: float
    selected: list[np.ndarray]
    predictions: np.ndarray

    def summary(self) -> dict[str, Any]:
        return {
            "selector": self.strategy,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "frames_per_clip": self.frames_per_clip,
            "classifier_flops_per_clip": self.classifier_flops_per_clip,
        }


def build_scorer(bundle: ModelBundle, items: list[VideoItem], num_candidates: int) -> ClipScorer:
    """The bundle's classifier behind the scorer interface (heavy decodes the frames it needs)."""
    if isinstance(bundle.classifier, SharedHead):
        from training.shared import SharedScorer

        return SharedScorer(bundle.classifier)
    if isinstance(bundle.classifier, HeavyClassifier):
        from training.heavy import FrameStore, HeavyScorer

        store = FrameStore(items, num_candidates, bundle.preprocessing.image_size)
        return HeavyScorer(bundle.classifier, store, bundle.preprocessing)
    raise TypeError(f"unknown classifier type {type(bundle.classifier).__name__}")


def evaluate_strategy(
    name: str, bundle: ModelBundle, scorer: ClipScorer, data: FeatureSet, num_frames: int, num_classes: int,
    seed: int = 0, flops_per_frame: int | None = None,
) -> StrategyResult:
    models = bundle.selector_models() if needs_models(name) else None
    result = end_to_end(create_strategy(name, models, seed), scorer, data, num_frames)
    report = classification_report(data.labels, result.predictions, num_classes)
    per_frame = flops_per_frame if flops_per_frame is not None else scorer.flops_per_frame()
    return StrategyResult(
        strategy=name,
        accuracy=float(report.accuracy),
        macro_f1=float(report.macro_f1),
        frames_per_clip=result.frames_per_clip,
        classifier_flops_per_clip=float(result.frames_per_clip * per_frame),
        selected=result.selected,
        predictions=result.predictions,
    )


def extract_evaluation_features(
    bundle_dir: Path, bundle: ModelBundle, items: list[VideoItem], settings: FeatureSettings, progress: bool = True
) -> FeatureSet:
    """Features of every candidate of `items` with the bundle's preprocessing; no curation at evaluation."""
    if settings.backend == "onnxruntime" and settings.precision == "fp32" and not (bundle_dir / ENCODER_ONNX).exists():
        export_encoder_onnx(FrameEncoder(), bundle_dir / ENCODER_ONNX, bundle.preprocessing.image_size)
    backend = create_backend(settings.backend, backend_options(settings, bundle_dir))
    extractor = FeatureExtractor(
        backend, bundle.preprocessing, bundle.name_table, settings, CurationSettings(enabled=False)
    )
    videos = extractor.extract(items, progress=progress, desc="evaluation features")
    return FeatureSet.stack(videos, use_curation=False)
