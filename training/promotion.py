"""Champion/challenger: whether a retrained candidate may replace the model in production.

Both models are scored on the same held-out data: the base test split (what the platform was built on), a
held-out share of the newly labelled windows, held out in time blocks so that overlapping neighbouring windows
never sit on both sides, and, when the site has them, held-out windows of its other cameras (the scenes that did
not change). The candidate is promoted only if, on the new data, it is better by `min_gain` and the gain is
significant (one-sided exact McNemar test on the paired outcomes), and on the base test and the other cameras'
windows it is not worse than `forgetting_tolerance` beyond chance (no forgetting). Every refusal says which rule
failed, with the figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field
from scipy.stats import binomtest


class PromotionSettings(BaseModel):
    min_gain: float = Field(0.02, ge=0.0, description="Accuracy the candidate must gain on the new data.")
    alpha: float = Field(0.05, gt=0.0, lt=1.0, description="Significance level of the paired test on the new data.")
    forgetting_tolerance: float = Field(0.02, ge=0.0, description="Largest accuracy drop allowed on the base test.")
    forgetting_z: float = Field(1.645, ge=0.0, description="The base-test drop is forgetting when it exceeds the "
                                "tolerance by more than this many standard errors of the paired difference "
                                "(one-sided 95%; 0: the drop alone decides): retrained twice on the same data, a "
                                "candidate's base accuracy moved by 3 of 18 clips (0.61 vs 0.78) by chance alone.")
    min_new_examples: int = Field(20, ge=1, description="Held-out new windows needed to decide at all.")


@dataclass(frozen=True)
class PairedComparison:
    """Two models' per-example correctness on the same examples."""

    examples: int
    candidate_accuracy: float
    production_accuracy: float
    candidate_only: int  # examples only the candidate gets right
    production_only: int
    p_value: float  # one-sided: the candidate is not better

    @property
    def gain(self) -> float:
        return self.candidate_accuracy - self.production_accuracy

    @property
    def gain_stderr(self) -> float:
        """Standard error of the paired accuracy difference (from the discordant pairs)."""
        if not self.examples:
            return 0.0
        discordant, net = self.candidate_only + self.production_only, self.candidate_only - self.production_only
        return math.sqrt(max(discordant - net * net / self.examples, 0.0)) / self.examples

    @classmethod
    def of(cls, candidate_correct: np.ndarray, production_correct: np.ndarray) -> PairedComparison:
        candidate, production = np.asarray(candidate_correct, bool), np.asarray(production_correct, bool)
        if candidate.shape != production.shape:
            raise ValueError(f"paired outcomes differ in size: {candidate.shape} vs {production.shape}")
        candidate_only = int(np.sum(candidate & ~production))
        production_only = int(np.sum(production & ~candidate))
        discordant = candidate_only + production_only
        p_value = (binomtest(candidate_only, discordant, 0.5, alternative="greater").pvalue if discordant else 1.0)
        examples = int(candidate.size)
        return cls(examples, float(candidate.mean()) if examples else 0.0,
                   float(production.mean()) if examples else 0.0, candidate_only, production_only, float(p_value))

    def to_dict(self) -> dict[str, float | int]:
        return {"examples": self.examples, "candidate_accuracy": round(self.candidate_accuracy, 4),
                "production_accuracy": round(self.production_accuracy, 4), "gain": round(self.gain, 4),
                "candidate_only": self.candidate_only, "production_only": self.production_only,
                "p_value": round(self.p_value, 6)}


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    new_data: PairedComparison
    base_test: PairedComparison
    reasons: list[str] = field(default_factory=list)  # why not, one line per failed rule; empty when promoted
    other_cameras: PairedComparison | None = None  # the site's other cameras' held-out windows; None: none


def decide(new_data: PairedComparison, base_test: PairedComparison, settings: PromotionSettings,
           other_cameras: PairedComparison | None = None) -> PromotionDecision:
    reasons = []
    if new_data.examples < settings.min_new_examples:
        reasons.append(f"too few held-out new windows: {new_data.examples} < {settings.min_new_examples}")
    if new_data.gain < settings.min_gain:
        reasons.append(f"gain on new data {new_data.gain:+.3f} below the required {settings.min_gain:.3f} "
                       f"({new_data.candidate_accuracy:.3f} vs {new_data.production_accuracy:.3f})")
    elif new_data.p_value > settings.alpha:
        reasons.append(f"gain on new data not significant: McNemar p={new_data.p_value:.3g} > {settings.alpha:g} "
                       f"({new_data.candidate_only} vs {new_data.production_only} discordant windows)")
    held = [("the base test", base_test)] + ([("the other cameras", other_cameras)] if other_cameras else [])
    for name, held_out in held:
        margin = settings.forgetting_z * held_out.gain_stderr
        if held_out.examples and -held_out.gain - margin > settings.forgetting_tolerance:
            reasons.append(f"forgets {name}: accuracy {held_out.candidate_accuracy:.3f} vs "
                           f"{held_out.production_accuracy:.3f} on {held_out.examples} (drop {-held_out.gain:.3f} "
                           f"beyond the tolerance {settings.forgetting_tolerance:.3f} + {margin:.3f} of chance)")
    return PromotionDecision(not reasons, new_data, base_test, reasons, other_cameras)


def time_block_holdout(times: np.ndarray, held_out_share: float, block_s: float, seed: int = 0) -> np.ndarray:
    """Mask of the examples held out for evaluation: whole blocks of `block_s` seconds of capture time are
    held out (about `held_out_share` of the blocks, at least one when there are two or more), so a window and
    its overlapping neighbours never end up on both sides of the split."""
    times = np.asarray(times, dtype=np.float64)
    if times.size == 0:
        return np.zeros(0, dtype=bool)
    blocks = np.floor(times / block_s).astype(np.int64)
    unique = np.unique(blocks)
    if unique.size < 2:
        return np.zeros(times.size, dtype=bool)
    count = min(unique.size - 1, max(1, round(held_out_share * unique.size)))
    chosen = np.random.default_rng(seed).choice(unique, size=count, replace=False)
    return np.isin(blocks, chosen)
