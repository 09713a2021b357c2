"""A last, short fine-tune of the motion CNN for the consensus it is read with (issue 11).

The recipe trains the CNN frame by frame, each of a training clip's picks with the clip's label, but SMART reads a
clip by the TSN consensus of its n selected candidates. This fine-tune closes that gap: each training clip
contributes one loss, the cross-entropy of the mean of the logits of its n candidates that SMART's own selector
ranks first (the selector fitted on the trained model, no label needed to pick), so an idle candidate among the
picks is outvoted by training rather than only at test time. The masks are never read.

Off by default (epochs 0): it does not lift SMART beyond the seed spread. Chosen on seed 0's validation split (144
training clips, 48 held out, the recorded 40-epoch model, masks unread; SMART accuracy, today 0.771): the n=4 picks,
10 epochs at 2e-4 / 1e-3: 0.750 / 0.750, 20 epochs at 5e-4: 0.792 (one clip); 8 picks a clip, 10 epochs at 2e-4 /
1e-3: 0.771 / 0.771; the head alone on frozen features, 10 / 20 / 50 epochs at 1e-3: 0.750 / 0.750 / 0.771. The
chosen 20 epochs at 5e-4 on the articulated bench (each seed's recorded model of all 192 training clips, 96 bench
clips, seeds 0-2, side by side on the same models): SMART 0.788 +- 0.006 -> 0.799 +- 0.016 (per seed 0.792 /
0.781 / 0.792 -> 0.781 / 0.813 / 0.802), in-burst 0.575 -> 0.572, while uniform falls 0.469 -> 0.385, dense
0.524 -> 0.417 and the masks' picks (oracle) 0.809 -> 0.781: a head tuned on four frames a clip reads the others
worse. The margins over uniform and dense grow to +0.413 and +0.382, but by the other strategies falling, not by
SMART rising (the bench's margin flags read met, for that reason). `OMP_NUM_THREADS=1 actionstream bench selection
--recipe motion-energy --family articulated --frames 4 --seeds N --consensus-tuning-epochs 20` (one process a
seed, models trained afresh) gives the same figures exactly (SMART 0.781 / 0.813 / 0.802, dense 0.406 / 0.458 /
0.385), cascade (k=8) 0.781 / 0.750 / 0.781. With the recipe's per-frame loss added on each clip's 8
self-training picks (energy + 3 x the label's probability; a scratch variant, not an option here), 20 epochs at
5e-4: validation 0.813 (two clips over 0.771; dense 0.458, oracle 0.750), bench SMART 0.771 / 0.792 / 0.813, 0.792
+- 0.021 against 0.788 +- 0.006 (uniform 0.441, dense 0.469, oracle 0.806, in-burst 0.582): no gain either.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import BaseModel, Field
from torch import nn


class ConsensusTuning(BaseModel):
    """How the fine-tune runs (the batches' translation and mirroring are the recipe's)."""

    epochs: int = Field(0, ge=0, description="Passes over the training clips (0: no fine-tune).")
    learning_rate: float = Field(5e-4, gt=0, description="AdamW learning rate (cosine-annealed to 0).")
    batch_clips: int = Field(8, ge=1, description="Clips per step, each with its n picks.")


def consensus_fine_tune(model: nn.Sequential, stacks: np.ndarray, labels: np.ndarray, picks: np.ndarray,
                        tuning: ConsensusTuning, weight_decay: float, label_smoothing: float, max_roll_px: int,
                        seed: int) -> None:
    """Fine-tunes `model` in place: stacks [N,T,depth,S,S], picks [N,n] candidate positions of each clip; the loss
    of a clip is on the mean of its picks' logits."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    chosen = torch.from_numpy(np.take_along_axis(stacks, picks[:, :, None, None, None], axis=1))
    targets = torch.from_numpy(labels)
    optimiser = torch.optim.AdamW(model.parameters(), tuning.learning_rate, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, tuning.epochs)
    clips, count = picks.shape
    for _ in range(tuning.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(clips))
        for start in range(0, clips, tuning.batch_clips):
            batch = order[start:start + tuning.batch_clips]
            shift = tuple(int(value) for value in rng.integers(-max_roll_px, max_roll_px + 1, 2))
            frames = torch.roll(chosen[batch].float().flatten(0, 1), shift, dims=(2, 3))
            if rng.random() < 0.5:  # a mirrored actor does the same action
                frames = frames.flip(3)
            logits = model(frames).view(len(batch), count, -1).mean(dim=1)
            loss = nn.functional.cross_entropy(logits, targets[batch], label_smoothing=label_smoothing)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        schedule.step()
