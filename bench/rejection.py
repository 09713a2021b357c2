"""`bench rejection`: the open-set floor (training/rejection.py) scored on any UCF101-layout set with an idle class.

Class probabilities of the SMART pipeline, offline as `actionstream evaluate` runs it, on clips the floor is
judged on: a validation set of another seed, never the test split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def validation_probabilities(bundle_dir: Path, data: Path, subset: str, cache_dir: Path
                             ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Class probabilities [N,C] of the SMART pipeline on a subset of a UCF101-layout set (offline, as
    `actionstream evaluate` runs it), the clips' labels [N] and the bundle's classes."""
    from models.bundle import ModelBundle
    from models.selectors import create_strategy
    from training.evaluate import build_scorer, extract_evaluation_features
    from training.scoring import end_to_end
    from training.smart_settings import FeatureSettings
    from training.ucf101 import Ucf101Index

    bundle = ModelBundle.load(bundle_dir)
    index = Ucf101Index.from_folder(data)
    items = {"train": index.train, "test": index.test}[subset]
    if index.classes != bundle.classes:
        raise ValueError(f"{data} has classes {index.classes}, the model {bundle.classes}")
    features = FeatureSettings(num_candidates=bundle.manifest.num_candidates,
                               top_k_names=bundle.manifest.architecture.top_k_names, cache_dir=cache_dir)
    clips = extract_evaluation_features(bundle_dir, bundle, items, features, progress=False)
    result = end_to_end(create_strategy("smart", bundle.selector_models(), 0),
                        build_scorer(bundle, items, features.num_candidates), clips, bundle.manifest.num_frames)
    return result.probabilities, clips.labels, bundle.classes
