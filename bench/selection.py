"""`actionstream bench selection`: every selection strategy side by side on a synthetic set the training
never saw (T candidates, n in {2,4,8}): accuracy, macro-F1, share of selected frames inside the action
burst (from the truth masks), classifier FLOPs per clip from torch.utils.flop_counter, and total GFLOPs per
window: the encoder on every frame a strategy touches, its selectors and the classifier. Beside them, the
classifier's accuracy on n frames of the burst: the ceiling of any selector with that classifier."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.bundle import ModelBundle
from models.classifiers import tsn_consensus
from models.encoder import FrameEncoder
from models.flops import count_flops
from training.evaluate import build_scorer, evaluate_strategy, extract_evaluation_features
from training.features import FeatureSet
from training.pipeline import REPORTED_STRATEGIES
from training.scoring import ClipScorer
from training.smart_settings import FeatureSettings
from training.ucf101 import CLASS_INDEX_FILENAME, Ucf101Index, VideoItem, locate_layout, read_class_index

logger = logging.getLogger(__name__)

BENCH_SEED = 1000  # the training set uses seed 0: a different seed gives unseen clips


class BenchClassesMismatch(ValueError):
    """The bench folder holds other classes than the model or training set it is to score."""


def default_bench_dir(family: str, classes: list[str]) -> Path:
    """The bench set's folder for a model's or training set's `classes`, named after what is generated:
    var/data/synthetic-bench-<family><action classes>[-idle], so sets of other classes never share a folder. The
    two sets named before the classes were part of the name keep their folders: the demo's five shapes with the
    idle class (var/data/synthetic-bench) and every articulated action (var/data/synthetic-bench-articulated)."""
    from training.synth import IDLE_CLASS, SynthSettings
    from training.synth_articulated import ARTICULATED_CLASSES

    idle = IDLE_CLASS in classes
    name = f"synthetic-bench-{family}{len(classes) - idle}{'-idle' if idle else ''}"
    named_before = {f"synthetic-bench-shapes{SynthSettings().num_classes}-idle": "synthetic-bench",
                    f"synthetic-bench-articulated{len(ARTICULATED_CLASSES)}": "synthetic-bench-articulated"}
    return Path("var/data") / named_before.get(name, name)


def ensure_bench_data(directory: Path, classes: list[str], family: str = "shapes") -> Path:
    """Generate the bench set of `family` for a model's `classes` (unseen seed) unless `directory` has one
    (atomically: benches started together never mix their files); a set there of other classes is refused
    (BenchClassesMismatch)."""
    from training.synth import IDLE_CLASS, LISTS_FOLDER, SynthSettings, generate_dataset_once

    if not (directory / LISTS_FOLDER).exists():
        actions = [name for name in classes if name != IDLE_CLASS]
        settings = SynthSettings(num_classes=len(actions) // 2 if family == "mix" else len(actions),
                                 idle_class=IDLE_CLASS in classes, family=family, seed=BENCH_SEED)
        if settings.class_names != classes:
            raise ValueError(f"the model's classes {classes} are not those of the {family} family "
                             f"{settings.class_names}: pick the family it was trained on")
        generate_dataset_once(settings, directory)
    found = read_class_index(locate_layout(directory)[1] / CLASS_INDEX_FILENAME)
    if found != classes:
        raise BenchClassesMismatch(f"the bench set {directory} holds the classes {found}, not {classes}: pass "
                                   f"--data a set of those classes, or remove the folder to have it generated")
    return directory


def burst_masks(data_root: Path, items: list[VideoItem]) -> dict[str, np.ndarray]:
    """Per video the 0/1 truth mask over decoded frames, from <root>/truth/<video_id>.json."""
    masks = {}
    for item in items:
        truth = json.loads((data_root / "truth" / f"{item.video_id}.json").read_text())
        masks[item.video_id] = np.asarray(truth["mask"], dtype=bool)
    return masks


def burst_positions(masks: dict[str, np.ndarray], data: FeatureSet, budget: int) -> torch.Tensor:
    """Per clip, `budget` candidate positions spread over those inside the burst (from the truth masks, which
    only scoring reads): what a perfect selector would hand the classifier. [N,budget] long."""
    rows = []
    for video_id, frames_of_video in zip(data.video_ids, data.frame_indices, strict=True):
        inside = np.flatnonzero(masks[video_id][frames_of_video])
        if inside.size == 0:  # no candidate landed in the burst: fall back to spreading over the clip
            inside = np.arange(len(frames_of_video))
        spread = np.floor((np.arange(budget) + 0.5) / budget * inside.size).astype(np.int64)
        rows.append(inside[spread])
    return torch.from_numpy(np.stack(rows))


@torch.no_grad()
def burst_frames_accuracy(scorer: ClipScorer, data: FeatureSet, positions: torch.Tensor) -> float:
    """Accuracy of the classifier (TSN consensus) on the given frames of every clip: with the burst's frames,
    the ceiling any selector can reach with this classifier."""
    logits = scorer.frame_logits(data, np.arange(len(data.labels)), positions)
    probabilities = tsn_consensus(logits, torch.ones(positions.shape, dtype=torch.bool))
    return float((probabilities.argmax(dim=1).numpy() == data.labels).mean())


def selector_flops_per_window(bundle: ModelBundle, num_candidates: int) -> dict[str, int]:
    """FLOPs of the single-frame and the global selector over one window of T candidates."""
    frames = torch.zeros(1, num_candidates, bundle.manifest.architecture.representation_dim)
    mask = torch.ones(1, num_candidates, dtype=torch.bool)
    return {"single": count_flops(lambda: bundle.single(frames)),
            "global": count_flops(lambda: bundle.global_(frames, mask))}


# The selectors each strategy runs over the T candidates (the others pick frames without looking at them).
_SELECTORS_RUN = {"smart": ("single", "global"), "single": ("single",), "global": ("global",)}


def window_flops(strategy: str, classifier_kind: str, num_candidates: int, budget: int, encoder_per_frame: int,
                 selectors: dict[str, int], classifier_per_clip: float) -> float:
    """Total FLOPs per window: encoder frames + selectors + classifier.

    A selector scores all T candidates, so it needs the encoder on all T. Without a selector, the `shared`
    classifier still needs encoder features of the frames it classifies (n, or T for dense), while the `heavy`
    classifier runs its own network on raw frames and needs no encoder at all.
    """
    selectors_run = _SELECTORS_RUN.get(strategy, ())
    if selectors_run:
        encoded = num_candidates
    elif classifier_kind == "heavy":
        encoded = 0
    else:
        encoded = num_candidates if strategy == "dense" else budget
    return encoded * encoder_per_frame + sum(selectors[name] for name in selectors_run) + classifier_per_clip


def run_selection_bench(
    bundle_dir: Path, data_root: Path, frame_budgets: list[int], num_candidates: int, cache_dir: Path
) -> list[dict[str, Any]]:
    bundle = ModelBundle.load(bundle_dir)
    index = Ucf101Index.from_folder(data_root)
    if index.classes != bundle.classes:
        raise ValueError(f"bench classes {index.classes} differ from the model's {bundle.classes}")
    items = index.train + index.test
    settings = FeatureSettings(num_candidates=num_candidates, cache_dir=cache_dir,
                               top_k_names=bundle.manifest.architecture.top_k_names)
    data = extract_evaluation_features(bundle_dir, bundle, items, settings)
    masks = burst_masks(data_root, items)
    scorer = build_scorer(bundle, items, num_candidates)
    per_frame = scorer.flops_per_frame()
    encoder_flops = count_flops(lambda: FrameEncoder()(torch.zeros(1, 3, 224, 224)))
    selector_flops = selector_flops_per_window(bundle, num_candidates)
    lines = []
    for budget in frame_budgets:
        results = {name: evaluate_strategy(name, bundle, scorer, data, budget, len(bundle.classes), 0, per_frame)
                   for name in REPORTED_STRATEGIES}
        in_burst = {
            name: float(np.mean([
                masks[video_id][frames_of_video[selected]].mean()
                for video_id, frames_of_video, selected in zip(data.video_ids, data.frame_indices, result.selected,
                                                               strict=True)
            ]))
            for name, result in results.items()
        }
        flops = {name: result.classifier_flops_per_clip for name, result in results.items()}
        kind = bundle.manifest.architecture.classifier_kind
        total = {name: window_flops(name, kind, num_candidates, budget, encoder_flops, selector_flops, flops[name])
                 for name in results}
        lines.append({
            "bench": "selection", "T": num_candidates, "n": budget, "clips": len(data.labels),
            "classifier": kind,
            "acc": {name: round(result.accuracy, 4) for name, result in results.items()},
            "macro_f1": {name: round(result.macro_f1, 4) for name, result in results.items()},
            "in_burst": {name: round(value, 4) for name, value in in_burst.items()},
            # Selection or classifier? The classifier on n burst frames bounds what any selector can reach.
            "acc_burst_frames": round(burst_frames_accuracy(scorer, data, burst_positions(masks, data, budget)), 4),
            "classifier_flops_per_clip": flops,
            "flops_dense_over_smart": round(flops["dense"] / flops["smart"], 3),
            "encoder_flops_per_frame": encoder_flops,
            "selector_flops_per_window": selector_flops,
            "window_gflops": {name: round(value / 1e9, 4) for name, value in total.items()},
        })
    return lines


def format_table(line: dict[str, Any]) -> str:
    rows = [f"T={line['T']} n={line['n']} ({line['clips']} clips, {line['classifier']} classifier)",
            f"{'selector':<9} {'acc':>7} {'macroF1':>8} {'in_burst':>9} {'clf GFLOPs/clip':>16} "
            f"{'total GFLOPs/window':>20}"]
    for name in line["acc"]:
        rows.append(f"{name:<9} {line['acc'][name]:>7.3f} {line['macro_f1'][name]:>8.3f} "
                    f"{line['in_burst'][name]:>9.3f} {line['classifier_flops_per_clip'][name] / 1e9:>16.6f} "
                    f"{line['window_gflops'][name]:>20.4f}")
    rows.append(f"classifier on {line['n']} burst frames (a perfect selector): acc {line['acc_burst_frames']:.3f}")
    return "\n".join(rows)
