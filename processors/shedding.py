"""Selection-aware load shedding: a stage that falls behind classifies fewer of each window's frames,
the lowest-scored first, instead of dropping whole windows."""

from __future__ import annotations

import math

from processors.settings import SheddingSettings


def frames_to_keep(budget: int, staleness_s: float, settings: SheddingSettings) -> int:
    """Frames per window at this staleness: the full budget while on time, one frame less at the bound and
    for every further `step_s`, never below the floor (or the budget, if that is smaller)."""
    if not settings.enabled or staleness_s < settings.staleness_bound_s:
        return budget
    behind_steps = 1 + math.floor((staleness_s - settings.staleness_bound_s) / settings.step_s)
    return max(min(settings.floor, budget), budget - behind_steps)


def top_by_score(scores: list[float], keep: int) -> list[int]:
    """Indices of the `keep` highest scores, returned in their original (time) order; ties keep the earlier."""
    ranked = sorted(range(len(scores)), key=lambda index: (-scores[index], index))[:keep]
    return sorted(ranked)
