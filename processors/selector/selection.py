"""Stage 2 decisions on a closed window, without Kafka: global selector + fusion -> top-n -> a Clip. The window's
frames come as claims (claims.py); only the selected frames' JPEGs are read, through the `fetch` given."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import torch

from models.runtime import SmartRuntime
from models.selectors.selection import fuse_scores, top_n_in_time_order
from processors.selector.claims import ClaimedFrame
from processors.selector.jpeg_fetch import Fetched
from processors.selector.phases import Phase, timed
from processors.selector.windows import ClosedWindow
from processors.settings import SheddingSettings
from processors.shedding import frames_to_keep
from streams.records import Clip, ClipFrame, FrameRef, clip_id

JpegSource = Callable[[Sequence[FrameRef]], Fetched]


def window_seed(window: ClosedWindow) -> int:
    """The partner draw of the global selector depends on the window only, so a replay selects the same."""
    return round(window.start * 1000) % (2**31)


def build_clip(
    runtime: SmartRuntime, model_version: str, window: ClosedWindow, claimed: list[ClaimedFrame], budget: int,
    expected_candidates: int, shedding: SheddingSettings, fetch: JpegSource, now: float | None = None,
) -> tuple[Clip | None, list[FrameRef]]:
    """Select the window's top-n frames by s_i = delta_i * gamma_i, in time order. When the window closes
    late (the stage is behind), n shrinks toward the shedding floor instead of the window being dropped.
    Selected frames whose JPEG expired are left out and the clip is marked incomplete; with none left, no clip.
    Returns the clip and the expired claims."""
    with timed(Phase.SELECT):
        chosen, clip = _select(runtime, model_version, window, claimed, budget, expected_candidates, shedding,
                               time.time() if now is None else now)
    claims = [claim for claim in (claimed[index].claim for index in chosen) if claim is not None]
    fetched = fetch(claims) if claims else Fetched()  # outside the phase: it waits for the broker
    with timed(Phase.SELECT):
        jpegs = [claimed[index].frame.jpeg if claimed[index].claim is None else fetched.jpegs.get(claimed[index].claim)
                 for index in chosen]
        frames = [replace(frame, jpeg=jpeg) for frame, jpeg in zip(clip.frames, jpegs, strict=True) if jpeg is not None]
        if not frames:
            return None, fetched.expired
        return replace(clip, frames=frames, incomplete=clip.incomplete or bool(fetched.expired),
                       closed_time=time.time()), fetched.expired


def _select(
    runtime: SmartRuntime, model_version: str, window: ClosedWindow, claimed: list[ClaimedFrame], budget: int,
    expected_candidates: int, shedding: SheddingSettings, now: float,
) -> tuple[list[int], Clip]:
    """The selected frames' indices in time order, and their clip without JPEGs."""
    frames = [entry.frame for entry in claimed]
    representation = np.stack([frame.features for frame in frames]).astype(np.float32)
    delta = torch.tensor([frame.delta for frame in frames], dtype=torch.float32)
    gamma = torch.from_numpy(runtime.global_scores(representation, window_seed(window)))
    scores = fuse_scores(delta, gamma)
    keep = frames_to_keep(budget, now - window.end, shedding)
    selection = top_n_in_time_order(scores.unsqueeze(0), torch.ones(1, len(frames), dtype=torch.bool), keep)
    chosen = selection.indices[0].tolist()
    clip_frames = [
        ClipFrame(seq=frames[i].seq, capture_time=frames[i].capture_time, ingest_time=frames[i].ingest_time,
                  scored_time=frames[i].scored_time, source=frames[i].source, delta=frames[i].delta,
                  gamma=float(gamma[i]), score=float(scores[i]), jpeg=frames[i].jpeg, features=frames[i].features)
        for i in chosen
    ]
    first = frames[0]
    return chosen, Clip(
        clip_id=clip_id(first.site, first.camera, window.start),
        site=first.site, camera=first.camera, window_start=window.start, window_end=window.end, frames=clip_frames,
        candidates=len(frames), expected_candidates=expected_candidates, budget=budget, shed=keep < budget,
        incomplete=window.incomplete, selector_version=model_version, model_version=model_version,
        closed_time=time.time(),
    )
