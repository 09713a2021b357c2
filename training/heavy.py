"""Training of the `heavy` classifier: EfficientNet-Lite0 fine-tuned at full input size on sampled frames,
TSN style (segments per clip, consensus of the segment logits), with clip-consistent augmentation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from models.classifiers import HeavyClassifier
from models.flops import count_flops
from models.preprocessing import Preprocessing
from training.augment import AugmentSettings, build_clip_augmentation
from training.features import FeatureSet
from training.loop import EpochCallback, FitResult, fit, run_epoch
from training.optim import OptimizerSettings, SchedulerSettings, build_optimizer, build_scheduler
from training.smart_settings import ClassifierSettings
from training.ucf101 import VideoItem
from training.video import sample_candidate_frames


class FrameStore:
    """The candidate frames (uint8 [T,S,S,3]) of each video, decoded once and kept in memory."""

    def __init__(self, items: list[VideoItem], num_candidates: int, image_size: int) -> None:
        self._items = {item.video_id: item for item in items}
        self._num_candidates = num_candidates
        self._image_size = image_size
        self._frames: dict[str, np.ndarray] = {}

    def frames(self, video_id: str) -> np.ndarray:
        if video_id not in self._frames:
            candidates = sample_candidate_frames(self._items[video_id].path, self._num_candidates, self._image_size)
            self._frames[video_id] = candidates.frames
        return self._frames[video_id]


class HeavyScorer:
    kind = "heavy"

    def __init__(self, network: HeavyClassifier, store: FrameStore, preprocessing: Preprocessing) -> None:
        self.network = network.eval()
        self.store = store
        self.preprocessing = preprocessing

    @torch.no_grad()
    def frame_logits(self, data: FeatureSet, rows: np.ndarray, indices: torch.Tensor) -> torch.Tensor:
        per_clip = []
        for row, clip_indices in zip(rows, indices, strict=True):
            frames = self.store.frames(data.video_ids[row])[clip_indices.numpy()]
            per_clip.append(self.network(self.preprocessing.to_tensor(frames)))
        return torch.stack(per_clip)

    def frame_probabilities(self, data: FeatureSet) -> np.ndarray:
        steps = data.representation.shape[1]
        everything = torch.arange(steps).expand(len(data.labels), steps)
        logits = self.frame_logits(data, np.arange(len(data.labels)), everything)
        return torch.softmax(logits, dim=-1).numpy()

    def flops_per_frame(self) -> int:
        example = torch.zeros(1, 3, self.preprocessing.image_size, self.preprocessing.image_size)
        return count_flops(lambda: self.network(example))


def _segment_picks(mask: np.ndarray, segments: int, rng: np.random.Generator) -> np.ndarray:
    """TSN sampling: one random valid frame from each of `segments` equal parts of the valid frames."""
    valid = np.flatnonzero(mask)
    bounds = np.floor(np.linspace(0, len(valid), segments + 1)).astype(np.int64)
    starts = np.minimum(bounds[:-1], len(valid) - 1)
    ends = np.maximum(bounds[1:], starts + 1)
    picks = valid[rng.integers(starts, ends)]
    return np.asarray(picks, dtype=np.int64)


def train_heavy(
    data: FeatureSet,
    num_classes: int,
    store: FrameStore,
    preprocessing: Preprocessing,
    settings: ClassifierSettings,
    augment: AugmentSettings,
    optimizer: OptimizerSettings,
    scheduler: SchedulerSettings,
    loss: nn.Module,
    validate: Callable[[HeavyScorer], float] | None,
    epochs: int | None = None,
    on_epoch: EpochCallback | None = None,
    seed: int = 0,
    progress: bool = True,
) -> tuple[HeavyClassifier, FitResult]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    network = HeavyClassifier(num_classes)
    augmentation = build_clip_augmentation(augment)
    clips_per_batch = max(1, settings.heavy_batch_size // settings.heavy_frames_per_clip)
    total_epochs = epochs or settings.heavy_epochs
    steps_per_epoch = max(1, -(-len(data.labels) // clips_per_batch))
    opt = build_optimizer(network.parameters(), optimizer.model_copy(update={"lr": settings.heavy_learning_rate}))
    sched = build_scheduler(opt, scheduler, steps_per_epoch, total_epochs)

    def clip_tensor(row: int) -> torch.Tensor:
        picks = _segment_picks(data.mask[row], settings.heavy_frames_per_clip, rng)
        frames = torch.from_numpy(store.frames(data.video_ids[row])[picks]).permute(0, 3, 1, 2)
        augmented = augmentation(frames).permute(0, 2, 3, 1)  # one draw for the whole clip
        return preprocessing.to_tensor(augmented)

    def batch_loss(rows: np.ndarray) -> torch.Tensor:
        images = torch.stack([clip_tensor(row) for row in rows])  # [B,K,3,S,S]
        logits = network(images.flatten(0, 1)).view(len(rows), images.shape[1], -1).mean(dim=1)  # TSN average
        return loss(logits, torch.from_numpy(data.labels[rows]))

    def train_one_epoch(epoch: int) -> float:
        return run_epoch(rng.permutation(len(data.labels)), clips_per_batch, batch_loss, opt, sched)

    scorer = HeavyScorer(network, store, preprocessing)
    result = fit(
        network, train_one_epoch, (lambda: validate(scorer)) if validate is not None else None,
        total_epochs, settings.patience, "classifier", on_epoch, progress,
    )
    return network, result
