"""`bench stream-floor`: the open-set floor at event level on more held-out clips than training's validation split.

Training chooses the floor on its own validation clips (18 in the demo's set), laid back to back
(training/stream_validation.py). Here the same scoring runs on any UCF101-layout set with synthetic truth that
the model never saw (another seed), over several random clip orders (each order makes other straddling
windows), so each floor's event recall and precision come with their spread, and the bursts a floor misses are
split by cause (training/stream_validation.miss_causes): the right action below the floor (a floor problem)
or idle or another action on top (a model problem).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.rejection import FLOORS
from training.stream_validation import (
    MissCauses,
    StreamWindows,
    event_scores,
    in_burst,
    miss_causes,
    straddling_windows,
    stream_windows,
    synthetic_bursts,
)


@dataclass(frozen=True)
class FloorRow:
    """One floor over the clip orders: mean and range of event recall and precision, and why bursts are missed
    (summed over the orders)."""

    floor: float
    recall: tuple[float, float, float]  # mean, min, max
    precision: tuple[float, float, float]
    misses: MissCauses

    @property
    def f1(self) -> float:
        recall, precision = self.recall[0], self.precision[0]
        return 2 * recall * precision / (recall + precision) if recall + precision else 0.0

    def line(self) -> str:
        return (f"floor {self.floor:.2f}: recall {self.recall[0]:.3f} ({self.recall[1]:.3f}-{self.recall[2]:.3f}), "
                f"precision {self.precision[0]:.3f} ({self.precision[1]:.3f}-{self.precision[2]:.3f}), "
                f"F1 {self.f1:.3f}; missed bursts: {self.misses}")

    def as_dict(self) -> dict[str, object]:
        return {"floor": self.floor, "recall": round(self.recall[0], 4), "recall_min": round(self.recall[1], 4),
                "precision": round(self.precision[0], 4), "precision_min": round(self.precision[1], 4),
                "f1": round(self.f1, 4), "misses": self.misses.as_dict()}


def _spread(values: Sequence[float]) -> tuple[float, float, float]:
    return float(np.mean(values)), float(np.min(values)), float(np.max(values))


def floor_rows(orders: Sequence[StreamWindows], idle_index: int, min_burst_candidates: int,
               floors: Sequence[float] = FLOORS) -> list[FloorRow]:
    """Each floor's event scores over the windows of several clip orders."""
    per_order = [event_scores(windows, idle_index, min_burst_candidates, floors) for windows in orders]
    rows = []
    for column, floor in enumerate(floors):
        scores = [scores[column] for scores in per_order]
        misses = MissCauses.total([miss_causes(windows, idle_index, min_burst_candidates, floor)
                                   for windows in orders])
        rows.append(FloorRow(float(floor), _spread([score.recall for score in scores]),
                             _spread([score.precision for score in scores]), misses))
    return rows


def stream_orders(bundle_dir: Path, data: Path, subsets: Sequence[str], orders: int, cache_dir: Path
                  ) -> tuple[list[StreamWindows], int, int]:
    """The windows of `orders` random back-to-back orders of the subsets' clips under the bundle's SMART
    pipeline (offline, as training scores its validation clips); also the clip count and the idle class index."""
    from models.bundle import ModelBundle
    from models.selectors import create_strategy
    from processors.settings import ClassifierSettings
    from training.evaluate import build_scorer, extract_evaluation_features
    from training.features import FeatureSet
    from training.scoring import end_to_end
    from training.smart_settings import FeatureSettings
    from training.ucf101 import Ucf101Index

    bundle = ModelBundle.load(bundle_dir)
    index = Ucf101Index.from_folder(data)
    if index.classes != bundle.classes:
        raise ValueError(f"{data} has classes {index.classes}, the model {bundle.classes}")
    idle = [row for row, name in enumerate(bundle.classes) if name in ClassifierSettings().idle_labels]
    if not idle:
        raise ValueError(f"the model has no idle class: {bundle.classes}")
    items = [item for subset in subsets for item in {"train": index.train, "test": index.test}[subset]]
    features = FeatureSettings(num_candidates=bundle.manifest.num_candidates,
                               top_k_names=bundle.manifest.architecture.top_k_names, cache_dir=cache_dir)
    clips = extract_evaluation_features(bundle_dir, bundle, items, features, progress=False)
    bursts = synthetic_bursts(data, clips.video_ids)
    if bursts is None:
        raise ValueError(f"{data} has no synthetic truth (truth/<video id>.json) for every clip")
    scorer = build_scorer(bundle, items, features.num_candidates)

    def classify(windows: FeatureSet) -> np.ndarray:
        return end_to_end(create_strategy("smart", bundle.selector_models(), 0), scorer, windows,
                          bundle.manifest.num_frames).probabilities

    aligned, flags = classify(clips), in_burst(clips.frame_indices, bursts)
    windows = []
    for seed in range(orders):
        order = np.random.default_rng(seed).permutation(len(clips.labels))
        windows.append(stream_windows(aligned, classify(straddling_windows(clips, order)), flags, clips.labels, order))
    return windows, len(clips.labels), idle[0]


def summary_line(rows: Sequence[FloorRow], clips: int, orders: int, bundle_floor: float | None) -> str:
    return json.dumps({"bench": "stream-floor", "clips": clips, "orders": orders, "bundle_floor": bundle_floor,
                       "floors": [row.as_dict() for row in rows]})
