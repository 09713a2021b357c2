"""Stage 2 decisions on a closed window, without Kafka: global selector + fusion -> top-n -> a Clip."""

from __future__ import annotations

import time

import numpy as np
import torch

from models.runtime import SmartRuntime
from models.selectors.selection import fuse_scores, top_n_in_time_order
from processors.selector.phases import Phase, timed
from processors.selector.windows import ClosedWindow
from processors.settings import SheddingSettings
from processors.shedding import frames_to_keep
from streams.records import Clip, ClipFrame, ScoredFrame, clip_id


def window_seed(window: ClosedWindow) -> int:
    """The partner draw of the global selector depends on the window only, so a replay selects the same."""
    return round(window.start * 1000) % (2**31)


def build_clip(
    runtime: SmartRuntime, model_version: str, window: ClosedWindow, frames: list[ScoredFrame], budget: int,
    expected_candidates: int, shedding: SheddingSettings, now: float | None = None,
) -> Clip:
    """Select the window's top-n frames by s_i = delta_i * gamma_i, in time order. When the window closes
    late (the stage is behind), n shrinks toward the shedding floor instead of the window being dropped."""
    with timed(Phase.SELECT):
        return _build_clip(runtime, model_version, window, frames, budget, expected_candidates, shedding,
                           time.time() if now is None else now)


def _build_clip(
    runtime: SmartRuntime, model_version: str, window: ClosedWindow, frames: list[ScoredFrame], budget: int,
    expected_candidates: int, shedding: SheddingSettings, now: float,
) -> Clip:
    representation = np.stack([frame.features for frame in frames]).astype(np.float32)
    delta = torch.tensor([frame.delta for frame in frames], dtype=torch.float32)
    gamma = torch.from_numpy(runtime.global_scores(representation, window_seed(window)))
    scores = fuse_scores(delta, gamma)
    keep = frames_to_keep(budget, now - window.end, shedding)
    selection = top_n_in_time_order(scores.unsqueeze(0), torch.ones(1, len(frames), dtype=torch.bool), keep)
    chosen = [
        ClipFrame(seq=frames[i].seq, capture_time=frames[i].capture_time, ingest_time=frames[i].ingest_time,
                  scored_time=frames[i].scored_time, source=frames[i].source, delta=frames[i].delta,
                  gamma=float(gamma[i]), score=float(scores[i]), jpeg=frames[i].jpeg, features=frames[i].features)
        for i in selection.indices[0].tolist()
    ]
    first = frames[0]
    return Clip(
        clip_id=clip_id(first.site, first.camera, window.start),
        site=first.site, camera=first.camera, window_start=window.start, window_end=window.end, frames=chosen,
        candidates=len(frames), expected_candidates=expected_candidates, budget=budget, shed=keep < budget,
        incomplete=window.incomplete, selector_version=model_version, model_version=model_version,
        closed_time=time.time(),
    )
