"""`actionstream bench selection --recipe motion-energy`: issue 11's mask-free motion path on a family.

No model bundle: the motion CNN of `training.motion_energy` is trained from scratch once per seed on every clip
of the family's training set (never its masks), then scored on every clip of the bench set (another seed of the
generator, unseen): SMART's n candidates by motion energy + the head's confidence, n evenly spaced ones
(uniform) and all T (dense), each classified by TSN consensus of the same head, and the share of each
strategy's frames inside the action burst (the truth masks score, nothing else reads them). Per strategy the
mean and sample standard deviation over the seeds, the issue's targets, and the total GFLOPs per window.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, Field
from torch import nn

from bench.selection import ensure_bench_data
from models.flops import count_flops
from models.motion import MotionSettings, difference_flops_per_frame
from models.preprocessing import Preprocessing
from training.motion_energy import MotionEnergySettings, score_clips, train_motion_energy
from training.motion_probe import load_motion_data
from training.ucf101 import Ucf101Index

logger = logging.getLogger(__name__)

MOTION_STRATEGIES = ("smart", "uniform", "dense")


class SelectionTargets(BaseModel):
    """What issue 11 asks of SMART on a family at n=4, T=32 (means over the seeds)."""

    smart: float = Field(0.70, description="Least SMART accuracy.")
    margin: float = Field(0.30, description="Least lead of SMART over uniform and over dense.")
    in_burst: float = Field(0.85, description="Least share of SMART's frames inside the burst.")


def default_training_dir(family: str) -> Path:
    return Path(f"var/data/{family}")


def ensure_training_data(directory: Path, family: str) -> Path:
    """The family's training set, generated (seed 0, 24 clips a class, every articulated class) when missing."""
    from training.synth import SynthSettings, generate_dataset
    from training.synth_articulated import ARTICULATED_CLASSES

    if not (directory / "ucfTrainTestlist").exists():
        classes = len(ARTICULATED_CLASSES) if family == "articulated" else SynthSettings().num_classes
        generate_dataset(SynthSettings(num_classes=classes, clips_per_class=24, family=family, seed=0), directory)
    return directory


def mean_and_spread(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single seed)."""
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def motion_window_flops(model: nn.Module, settings: MotionEnergySettings, motion: MotionSettings,
                        budget: int) -> dict[str, Any]:
    """Total FLOPs per window of each strategy, and the per-frame parts they are made of.

    SMART's confidence reads the head on every candidate, so it runs the differences and the CNN on all T, as
    dense does; uniform needs only its n frames' stacks (each of `stack_depth` differences) and the CNN on n.
    The energy (an absolute sum over each newest difference) is SMART's alone.
    """
    size = motion.output_size
    cnn = count_flops(lambda: model.eval()(torch.zeros(1, motion.stack_depth, size, size)))
    image = Preprocessing().image_size
    difference = difference_flops_per_frame(motion, image, image)
    steps = settings.num_candidates
    differenced = {"smart": steps, "dense": steps, "uniform": min(steps, budget * motion.stack_depth)}
    classified = {"smart": steps, "dense": steps, "uniform": budget}
    energy = {"smart": steps * 2 * size * size, "dense": 0, "uniform": 0}
    total = {name: differenced[name] * difference + classified[name] * cnn + energy[name]
             for name in MOTION_STRATEGIES}
    return {"cnn_per_frame": cnn, "difference_per_frame_estimate": difference, "total": total}


def run_motion_selection_bench(train_root: Path, bench_root: Path, family: str, frame_budgets: list[int],
                               seeds: list[int], base: MotionEnergySettings, cache_dir: Path | None,
                               targets: SelectionTargets | None = None) -> list[dict[str, Any]]:
    """One line per budget n: each strategy's accuracy and in-burst share over `seeds`, and GFLOPs per window."""
    targets = targets or SelectionTargets()
    train_index = Ucf101Index.from_folder(train_root)
    bench_index = Ucf101Index.from_folder(ensure_bench_data(bench_root, train_index.classes, family))
    if train_index.classes != bench_index.classes:
        raise ValueError(f"bench classes {bench_index.classes} differ from the training set's {train_index.classes}")
    motion = MotionSettings()
    train, bench = (load_motion_data(root, index.train + index.test, motion, base.num_candidates, cache_dir)
                    for root, index in ((train_root, train_index), (bench_root, bench_index)))
    accuracy: dict[int, dict[str, list[float]]] = {n: {name: [] for name in MOTION_STRATEGIES} for n in frame_budgets}
    in_burst: dict[int, dict[str, list[float]]] = {n: {name: [] for name in MOTION_STRATEGIES} for n in frame_budgets}
    for seed in seeds:
        settings = base.model_copy(update={"seed": seed})
        model = train_motion_energy(train, len(train_index.classes), settings)
        for budget in frame_budgets:
            scores = score_clips(model, bench, settings.model_copy(update={"budget": budget}))
            for name in MOTION_STRATEGIES:
                accuracy[budget][name].append(scores.accuracy[name])
                in_burst[budget][name].append(scores.in_burst[name])
        logger.info("seed %d trained on %d clips: SMART accuracy %s", seed, len(train.labels),
                    ", ".join(f"{accuracy[n]['smart'][-1]:.3f} at n={n}" for n in frame_budgets))
    lines = []
    for budget in frame_budgets:
        flops = motion_window_flops(model, base, motion, budget)
        acc = {name: mean_and_spread(values) for name, values in accuracy[budget].items()}
        burst = {name: mean_and_spread(values) for name, values in in_burst[budget].items()}
        smart = acc["smart"][0]
        lines.append({
            "bench": "selection", "recipe": "motion-energy", "family": family, "T": base.num_candidates,
            "n": budget, "clips": len(bench.labels), "train_clips": len(train.labels), "seeds": seeds,
            "epochs": base.epochs, "self_training_rounds": base.self_training_rounds,
            "acc": {name: round(mean, 4) for name, (mean, _) in acc.items()},
            "acc_spread": {name: round(spread, 4) for name, (_, spread) in acc.items()},
            "acc_per_seed": {name: [round(value, 4) for value in values] for name, values in accuracy[budget].items()},
            "in_burst": {name: round(mean, 4) for name, (mean, _) in burst.items()},
            "in_burst_spread": {name: round(spread, 4) for name, (_, spread) in burst.items()},
            "meets_target": {
                f"smart>={targets.smart}": smart >= targets.smart,
                f"smart>=uniform+{targets.margin}": smart >= acc["uniform"][0] + targets.margin,
                f"smart>=dense+{targets.margin}": smart >= acc["dense"][0] + targets.margin,
                f"in_burst>={targets.in_burst}": burst["smart"][0] >= targets.in_burst,
            },
            "cnn_flops_per_frame": flops["cnn_per_frame"],
            "difference_flops_per_frame_estimate": flops["difference_per_frame_estimate"],
            "window_gflops": {name: round(value / 1e9, 4) for name, value in flops["total"].items()},
        })
    return lines


def format_motion_table(line: dict[str, Any]) -> str:
    rows = [f"motion-energy recipe, {line['family']} family: T={line['T']} n={line['n']} ({line['clips']} clips, "
            f"trained on {line['train_clips']}, {line['self_training_rounds']} self-training rounds, seeds "
            f"{', '.join(map(str, line['seeds']))}; mean +- sample sd)",
            f"{'selector':<9} {'acc':>15} {'in_burst':>15} {'total GFLOPs/window':>20}"]
    for name in line["acc"]:
        accuracy = f"{line['acc'][name]:.3f} +- {line['acc_spread'][name]:.3f}"
        burst = f"{line['in_burst'][name]:.3f} +- {line['in_burst_spread'][name]:.3f}"
        rows.append(f"{name:<9} {accuracy:>15} {burst:>15} {line['window_gflops'][name]:>20.4f}")
    rows.append(f"per frame: CNN + head {line['cnn_flops_per_frame'] / 1e9:.4f} GFLOPs, aligned difference "
                f"{line['difference_flops_per_frame_estimate'] / 1e9:.4f} GFLOPs (numpy, estimated)")
    rows.append("targets: " + ", ".join(f"{name} {'met' if met else 'NOT met'}"
                                        for name, met in line["meets_target"].items()))
    return "\n".join(rows)
