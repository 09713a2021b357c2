"""`actionstream bench encoder`: img/s of the frame encoder at batch 32 for torch eager, ONNX Runtime fp32 and
ONNX Runtime int8 in one run, with int8 top-1 agreement and accuracy drop on an evaluation set."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.backends import BackendOptions, EncoderBackend, create_backend
from models.bundle import ModelBundle
from training.curation import CurationSettings
from training.evaluate import build_scorer, evaluate_strategy
from training.features import FeatureExtractor, FeatureSet
from training.smart_settings import FeatureSettings
from training.ucf101 import Ucf101Index
from training.video import sample_candidate_frames

logger = logging.getLogger(__name__)

BACKENDS = (("torch", "fp32"), ("onnxruntime", "fp32"), ("onnxruntime", "int8"))


def images_per_second(backend: EncoderBackend, images: np.ndarray, batch_size: int, repeats: int) -> float:
    backend.run(images[:batch_size])  # warm-up: allocations and lazy initialisation
    started = time.perf_counter()
    for _ in range(repeats):
        for start in range(0, len(images), batch_size):
            backend.run(images[start : start + batch_size])
    return repeats * len(images) / (time.perf_counter() - started)


def run_encoder_bench(
    bundle_dir: Path, data_root: Path, batch_size: int, repeats: int, num_threads: int, cache_dir: Path
) -> dict[str, Any]:
    bundle = ModelBundle.load(bundle_dir)
    index = Ucf101Index.from_folder(data_root)
    items = index.train + index.test  # an unseen synthetic set: every clip is evaluation data
    first = sample_candidate_frames(items[0].path, batch_size, bundle.preprocessing.image_size)
    images = bundle.preprocessing(first.frames)
    backends = {
        f"{name}_{precision}": create_backend(name, BackendOptions(bundle_dir, precision, num_threads=num_threads))
        for name, precision in BACKENDS
    }
    speeds = {
        key: round(images_per_second(backend, images, batch_size, repeats), 1) for key, backend in backends.items()
    }

    # Accuracy on the evaluation set: the same bundle end to end with fp32 and int8 encoder features.
    scorer = build_scorer(bundle, items, bundle.manifest.num_candidates)
    accuracy: dict[str, float] = {}
    logits: dict[str, np.ndarray] = {}
    for precision in ("fp32", "int8"):
        settings = FeatureSettings(num_candidates=bundle.manifest.num_candidates, precision=precision,
                                   top_k_names=bundle.manifest.architecture.top_k_names, cache_dir=cache_dir)
        extractor = FeatureExtractor(backends[f"onnxruntime_{precision}"], bundle.preprocessing, bundle.name_table,
                                     settings, CurationSettings(enabled=False))
        videos = extractor.extract(items, desc=f"{precision} features")
        logits[precision] = np.concatenate([video.logits for video in videos])
        data = FeatureSet.stack(videos, use_curation=False)
        result = evaluate_strategy("smart", bundle, scorer, data, bundle.manifest.num_frames, len(bundle.classes))
        accuracy[precision] = result.accuracy
    agreement = float((logits["int8"].argmax(axis=1) == logits["fp32"].argmax(axis=1)).mean())
    return {
        "bench": "encoder", "batch": batch_size, "threads": num_threads, "img_per_s": speeds,
        "onnx_fp32_over_torch": round(speeds["onnxruntime_fp32"] / speeds["torch_fp32"], 2),
        "int8_top1_agreement_imagenet": round(agreement, 4),
        "smart_accuracy": {key: round(value, 4) for key, value in accuracy.items()},
        "int8_accuracy_drop": round(accuracy["fp32"] - accuracy["int8"], 4),
        "eval_clips": len(items), "eval_frames": len(logits["fp32"]),
    }
