"""Can a representation tell a family's actions apart on the frames where they happen? (issue 11, step 1)

A diagnostic, not a training step: it reads the generator's truth masks to pick the burst candidates, trains
the motion CNN of `models.motion` (plus a linear head) on the training clips' burst frames and reports its
accuracy on the test clips' burst frames. With `supervision="clip"` it trains on every candidate with its
clip's label instead (what a training run may do, since training never reads the masks), and reports the same
burst-frame accuracy: the gap between the two is what mask-free training loses.

    python -m training.motion_probe var/data/articulated [--supervision clip] [--epochs 30]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, Field
from torch import nn

from models.motion import MotionEncoder, MotionSettings, clip_motion_stacks
from models.preprocessing import Preprocessing
from training.array_files import save_arrays
from training.features import cache_file
from training.ucf101 import Ucf101Index, VideoItem
from training.video import sample_candidate_frames

logger = logging.getLogger(__name__)

Supervision = Literal["burst", "clip", "energy"]


class ProbeSettings(BaseModel):
    """The probe's training recipe (the one measured in issue 11's step 1)."""

    num_candidates: int = Field(32, ge=2, description="T: candidates per clip, in time order.")
    epochs: int = Field(30, ge=1, description="Passes over the training frames.")
    batch_size: int = Field(32, ge=1, description="Frames per step.")
    learning_rate: float = Field(2e-3, gt=0, description="AdamW learning rate (cosine-annealed to 0).")
    weight_decay: float = Field(1e-3, ge=0, description="AdamW weight decay.")
    dropout: float = Field(0.3, ge=0, lt=1, description="Dropout before the linear head.")
    energy_frames: int = Field(8, ge=1, description="energy supervision: candidates kept per training clip.")
    label_smoothing: float = Field(0.1, ge=0, lt=1, description="Cross-entropy label smoothing.")
    max_roll_px: int = Field(8, ge=0, description="Random translation of each batch (the actor stands anywhere).")
    seed: int = 0


@dataclass(frozen=True)
class StackLayout:
    """What a candidate's input channels hold, in order: its own newest `past` differences, then the newest
    difference of each of the next `following` candidates (`training.temporal_context`)."""

    past: int
    following: int = 0


@dataclass(frozen=True)
class MotionData:
    stacks: np.ndarray  # float16 [N,T,depth,S,S]
    in_burst: np.ndarray  # bool [N,T], from the truth masks
    labels: np.ndarray  # int64 [N]
    context: StackLayout | None = None  # None: the stacks as `models.motion` builds them, every channel its own

    @property
    def layout(self) -> StackLayout:
        """The stacks' channel layout; it travels with them, so a recipe can check it reads what it expects."""
        return self.context or StackLayout(past=self.stacks.shape[2])


def _clip_stacks(item: VideoItem, motion: MotionSettings, num_candidates: int,
                 cache_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """One clip's difference stacks (float16) and candidate frame indices, from the cache when it has them:
    decoding and the shake search cost about a second a clip, and every experiment reads the same clips."""
    size = Preprocessing().image_size
    cached = None
    if cache_dir is not None:
        key = hashlib.sha256(json.dumps({"T": num_candidates, "size": size, "motion": motion.model_dump(mode="json")},
                                        sort_keys=True).encode()).hexdigest()[:16]
        cached = cache_file(cache_dir / f"motion-{key}", item)
        if cached.exists():
            with np.load(cached) as stored:
                return stored["stacks"], stored["frame_indices"]
    candidates = sample_candidate_frames(item.path, num_candidates, size)
    stacks = clip_motion_stacks(candidates.frames, motion).astype(np.float16)
    if cached is not None:
        save_arrays(cached, stacks=stacks, frame_indices=candidates.frame_indices)
    return stacks, candidates.frame_indices


def load_motion_data(root: Path, items: list[VideoItem], motion: MotionSettings, num_candidates: int,
                     cache_dir: Path | None = None) -> MotionData:
    """Difference stacks of every clip's candidates (decoded as serving decodes them) and their truth; cached
    per clip under `cache_dir` when given."""
    stacks, in_burst = [], []
    for item in items:
        clip_stacks, frame_indices = _clip_stacks(item, motion, num_candidates, cache_dir)
        stacks.append(clip_stacks)
        truth = json.loads((root / "truth" / f"{item.video_id}.json").read_text())
        in_burst.append(np.asarray(truth["mask"], dtype=bool)[frame_indices])
    return MotionData(np.stack(stacks), np.stack(in_burst), np.asarray([item.label for item in items]))


def within_clip_energy(stacks: np.ndarray) -> np.ndarray:
    """[N,T,depth,S,S] -> [N,T]: each candidate's total |difference|, standardised within its clip (median,
    standard deviation); a clip's first candidate, which has no difference, scores -inf."""
    energy = np.abs(stacks[:, :, 0].astype(np.float32)).sum(axis=(2, 3))
    spread = energy.std(axis=1, keepdims=True) + 1e-6
    standardised = (energy - np.median(energy, axis=1, keepdims=True)) / spread
    standardised[:, 0] = -np.inf
    return standardised


def _frames(
    data: MotionData, supervision: Supervision, energy_frames: int
) -> tuple[torch.Tensor, torch.Tensor]:
    if supervision == "energy":
        picked = np.argsort(-within_clip_energy(data.stacks), axis=1)[:, :energy_frames]
        clips, positions = np.repeat(np.arange(len(data.labels)), picked.shape[1]), picked.ravel()
    else:
        clips, positions = np.nonzero(data.in_burst if supervision == "burst" else np.ones_like(data.in_burst))
    return torch.from_numpy(data.stacks[clips, positions].astype(np.float32)), torch.from_numpy(data.labels[clips])


def burst_frame_accuracy(
    train: MotionData, test: MotionData, num_classes: int, supervision: Supervision, settings: ProbeSettings
) -> float:
    """Train encoder + head on `train`'s frames (burst frames; every frame; the most energetic frames, each
    with its clip's label); return the accuracy on `test`'s burst frames."""
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    inputs, targets = _frames(train, supervision, settings.energy_frames)
    encoder = MotionEncoder(inputs.shape[1])
    model = nn.Sequential(encoder, nn.Dropout(settings.dropout), nn.Linear(encoder.output_dim, num_classes))
    optimiser = torch.optim.AdamW(model.parameters(), settings.learning_rate, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, settings.epochs)
    for epoch in range(settings.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(targets)))
        for start in range(0, len(order), settings.batch_size):
            batch = order[start:start + settings.batch_size]
            shift = tuple(int(value) for value in rng.integers(-settings.max_roll_px, settings.max_roll_px + 1, 2))
            stacks = torch.roll(inputs[batch], shift, dims=(2, 3))
            if rng.random() < 0.5:  # a mirrored actor does the same action
                stacks = stacks.flip(3)
            loss = nn.functional.cross_entropy(model(stacks), targets[batch],
                                               label_smoothing=settings.label_smoothing)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        schedule.step()
        logger.info("epoch %d: last batch loss %.3f", epoch, loss.item())
    test_inputs, test_targets = _frames(test, "burst", settings.energy_frames)
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(chunk).argmax(dim=1) for chunk in test_inputs.split(256)])
    return float((predictions == test_targets).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="A synthetic data set with truth masks (actionstream synth).")
    parser.add_argument("--supervision", choices=("burst", "clip", "energy"), default="burst",
                        help="burst: the burst frames (reads the masks); clip: every frame with the clip label; "
                        "energy: each clip's most energetic frames with the clip label.")
    parser.add_argument("--epochs", type=int, default=ProbeSettings().epochs, help="Training epochs.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the initialisation and batches.")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(2)
    settings = ProbeSettings(epochs=arguments.epochs, seed=arguments.seed)
    index = Ucf101Index.from_folder(arguments.root)
    motion = MotionSettings()
    train = load_motion_data(arguments.root, index.train, motion, settings.num_candidates)
    test = load_motion_data(arguments.root, index.test, motion, settings.num_candidates)
    accuracy = burst_frame_accuracy(train, test, len(index.classes), arguments.supervision, settings)
    print(json.dumps({"probe": "motion", "supervision": arguments.supervision, "epochs": settings.epochs,
                      "seed": settings.seed, "test_burst_frames": int(test.in_burst.sum()),
                      "acc_burst_frames": round(accuracy, 4)}))


if __name__ == "__main__":
    main()
