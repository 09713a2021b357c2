"""One more turn of the SMART loop: classifier -> oracle -> selectors -> classifier on the selected frames.

The first classifier learns from every candidate frame (or from an attention over them); once the selectors
exist, the frames they pick in each training clip are mostly the action, so a classifier trained again on
those frames alone learns the class from the frames that serve, not from idle ones.
"""

from __future__ import annotations

import numpy as np
import torch

from models.selectors import SelectionStrategy
from training.features import FeatureSet


def selected_frames_only(data: FeatureSet, strategy: SelectionStrategy, count: int) -> FeatureSet:
    """`data` with only the `count` frames `strategy` selects in each clip left valid in its mask."""
    with torch.no_grad():
        selection = strategy.select(torch.from_numpy(data.representation), torch.from_numpy(data.mask), count)
    mask = np.zeros_like(data.mask)
    np.put_along_axis(mask, selection.indices.numpy(), True, axis=1)
    return FeatureSet(data.video_ids, data.representation, mask & data.mask, data.labels, data.frame_indices)
