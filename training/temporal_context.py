"""Temporal context in the motion recipe's classifier input (issue 11): what a pick shows after it, too.

A candidate's difference stack holds its own newest difference and its predecessors' (`models.motion`): the
motion up to that candidate. SMART's picks sit anywhere in a burst, and the articulated family's actions differ
in how a limb moves on, which a single candidate's past can show only in part. `following_differences` appends
the newest differences of the next candidates of the same window, so each classified candidate carries the motion
around it. Every strategy reads the same input, so dense stays the same classifier on all T.
"""

from __future__ import annotations

import numpy as np

from training.motion_probe import MotionData


def with_following_differences(stacks: np.ndarray, following: int) -> np.ndarray:
    """[..., T, depth, S, S] -> [..., T, depth + following, S, S]: each candidate's stack, then the newest
    difference of each of the next `following` candidates (zeros past the window's end, as `models.motion` puts
    zeros before its start). Channel 0 stays the candidate's own newest difference, which the motion energy reads."""
    if following == 0:
        return stacks
    newest = stacks[..., 0, :, :]
    steps = newest.shape[-3]
    ahead = np.zeros((*newest.shape[:-3], steps, following, *newest.shape[-2:]), dtype=stacks.dtype)
    for offset in range(1, min(following, steps - 1) + 1):
        ahead[..., :steps - offset, offset - 1, :, :] = newest[..., offset:, :, :]
    return np.concatenate([stacks, ahead], axis=-3)


def with_temporal_context(data: MotionData, following: int) -> MotionData:
    """The classifier's input for every candidate of `data` (`with_following_differences`)."""
    return MotionData(with_following_differences(data.stacks, following), data.in_burst, data.labels)
