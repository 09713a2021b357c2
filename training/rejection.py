"""Open-set rejection: how a window without an action becomes idle, chosen on validation clips, never the test split.

The candidates are the idle class alone (floor 0) and the idle class plus a confidence floor on the top action
(`classifier.min_action_confidence`: below it a window is idle). Each floor is scored per clip the way the
event headline scores windows: recall is the share of action clips reported with their label, precision the
share of reported clips that show that action. The chosen floor has the highest min(recall, precision) (the
targets are 0.9 for both); a tie goes to the lower floor, which misses fewer actions. The training run chooses
the floor on its validation clips and stores it in the bundle; `bench rejection` scores any set with it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FLOORS = (0.0, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


@dataclass(frozen=True)
class RejectionScore:
    floor: float
    recall: float  # action clips reported with their label
    precision: float  # reported clips that show the reported action
    idle_kept_idle: float  # idle clips not reported as an action

    def line(self) -> str:
        return (f"floor {self.floor:.2f}: recall {self.recall:.3f}, precision {self.precision:.3f}, "
                f"idle clips kept idle {self.idle_kept_idle:.3f}")

    def json_line(self, clips: int) -> str:
        return json.dumps({"bench": "rejection", "clips": clips, "floor": self.floor,
                           "recall": round(self.recall, 4), "precision": round(self.precision, 4),
                           "idle_kept_idle": round(self.idle_kept_idle, 4)})


def rejection_scores(probabilities: np.ndarray, labels: np.ndarray, idle_index: int,
                     floors: Sequence[float] = FLOORS) -> list[RejectionScore]:
    """Clip-level recall and precision of each floor; probabilities [N,C], labels [N] (class indices)."""
    top = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    is_action = labels != idle_index
    scores = []
    for floor in floors:
        reported = (top != idle_index) & (confidence >= floor)
        right = reported & (top == labels)
        scores.append(RejectionScore(
            floor=float(floor),
            recall=float(right[is_action].mean()) if is_action.any() else 0.0,
            precision=float(right.sum() / reported.sum()) if reported.any() else 0.0,
            idle_kept_idle=float((~reported[~is_action]).mean()) if (~is_action).any() else 1.0,
        ))
    return scores


def choose_floor(scores: Sequence[RejectionScore]) -> RejectionScore:
    """Highest min(recall, precision); the lowest floor among equals."""
    return max(scores, key=lambda score: (round(min(score.recall, score.precision), 6), -score.floor))
