"""Temporal context in the motion recipe's classifier input (issue 11): what a pick shows after it, too.

A candidate's difference stack holds its own newest difference and its predecessors' (`models.motion`): the
motion up to that candidate. SMART's picks sit anywhere in a burst, and the articulated family's actions differ
in how a limb moves on, which a single candidate's past can show only in part. `following_differences` appends
the newest differences of the next candidates of the same window, so each classified candidate carries the motion
around it. Every strategy reads the same input, so dense stays the same classifier on all T.
"""

from __future__ import annotations

import numpy as np

from models.motion import EVERY_PIXEL, PixelCounting, window_motion_energy
from training.motion_probe import MotionData, StackLayout


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


def with_temporal_context(data: MotionData, following: int, past: int | None = None) -> MotionData:
    """The classifier's input for every candidate of `data` (stacks as `models.motion` builds them): its own newest
    `past` differences (all of its stack when None), then the next candidates' (`with_following_differences`),
    with the layout recorded on the result."""
    if data.context is not None:
        raise ValueError(f"the stacks already hold temporal context ({data.layout}); pass the stacks as loaded")
    depth = data.stacks.shape[2]
    if past is not None and not 1 <= past <= depth:
        raise ValueError(f"past differences must be 1 to the stack depth {depth}, not {past}")
    stacks = data.stacks if past is None else np.ascontiguousarray(data.stacks[:, :, :past])
    return MotionData(with_following_differences(stacks, following), data.in_burst, data.labels,
                      StackLayout(past=past or depth, following=following))


def both_sides_energy(stacks: np.ndarray, past: int, counting: PixelCounting = EVERY_PIXEL) -> np.ndarray:
    """[..., T, past + following, S, S] (`with_following_differences`, following >= 1) -> [..., T]: the lesser of
    the candidate's own newest difference's energy and the next candidate's (each `window_motion_energy`,
    unsmoothed): motion on both sides of the candidate. A candidate just after a burst moved only into it, and the
    first and the last candidates of a window, with a side missing, score -inf."""
    if stacks.shape[-3] <= past:
        raise ValueError("both-sides energy needs the next candidate's difference (following differences >= 1)")
    own = window_motion_energy(stacks, smoothing=1, counting=counting)
    following = window_motion_energy(stacks[..., past:past + 1, :, :], smoothing=1, counting=counting)
    return np.minimum(own, following)
