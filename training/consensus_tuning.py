"""A last, short fine-tune of the motion CNN for the consensus it is read with (issue 11).

The recipe trains the CNN frame by frame, each of a training clip's picks with the clip's label, but SMART reads a
clip by the TSN consensus of its n selected candidates. This fine-tune closes that gap: each training clip
contributes one loss, the cross-entropy of the mean of the logits of its n candidates that SMART's own selector
ranks first (the selector fitted on the trained model, no label needed to pick), so an idle candidate among the
picks is outvoted by training rather than only at test time. The masks are never read.
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
