"""Label-free accuracy estimate (confidence-based performance estimation) and observed accuracy.

Temperature scaling is fitted on validation logits at training time and stored in the reference profile. With
calibrated probabilities the expected accuracy of a set of windows is the mean calibrated top-1 probability;
this holds only while P(label | input) is unchanged, so it is reported beside the observed accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

# Search range of log(T): T in [0.05, 20] covers any sane network.
_LOG_T_BOUNDS = (np.log(0.05), np.log(20.0))


@dataclass(frozen=True)
class Calibration:
    temperature: float
    num_classes: int
    samples: int  # validation windows it was fitted on
    accuracy: float  # top-1 accuracy on them: the reference the estimate drops from
    nll_before: float
    nll_after: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        return cls(**data)

    def top1(self, top_k: np.ndarray) -> np.ndarray:
        """Calibrated top-1 probability per window from its top-k probabilities [N, k] (what outcomes carry).

        The classes outside the top-k share the remaining mass evenly: exact when k is every class, and the
        tail's shape barely matters for the top-1 after scaling."""
        probabilities = np.clip(np.asarray(top_k, dtype=np.float64), 1e-12, 1.0)
        k = probabilities.shape[1]
        rest = max(self.num_classes - k, 0)
        power = 1.0 / self.temperature
        scaled = probabilities ** power
        tail = np.clip(1.0 - probabilities.sum(axis=1), 1e-12, 1.0)
        tail_mass = rest * (tail / rest) ** power if rest else 0.0
        return scaled.max(axis=1) / (scaled.sum(axis=1) + tail_mass)

    def expected_accuracy(self, top_k: np.ndarray) -> float:
        return float(self.top1(top_k).mean())


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    return float(-log_softmax(logits / temperature, axis=1)[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> Calibration:
    """Temperature that minimises the validation NLL. Pass log-probabilities when only probabilities exist."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    if logits.ndim != 2 or len(logits) != len(labels) or len(labels) == 0:
        raise ValueError(f"need logits [N, C] and N labels, got {logits.shape} and {labels.shape}")
    found = minimize_scalar(lambda log_t: _nll(logits, labels, float(np.exp(log_t))), bounds=_LOG_T_BOUNDS,
                            method="bounded")
    temperature = float(np.exp(found.x))
    return Calibration(
        temperature=temperature, num_classes=logits.shape[1], samples=len(labels),
        accuracy=float((logits.argmax(axis=1) == labels).mean()),
        nll_before=_nll(logits, labels, 1.0), nll_after=_nll(logits, labels, temperature),
    )


@dataclass(frozen=True)
class ObservedPerformance:
    labels: int  # windows with a label
    accuracy: float
    macro_f1: float


def observed_performance(predicted: Mapping[str, str], truth: Mapping[str, str]) -> ObservedPerformance | None:
    """Accuracy and macro-F1 of the windows whose event id has a label (None when none has)."""
    joined = [(predicted[event], label) for event, label in truth.items() if event in predicted]
    if not joined:
        return None
    guesses, answers = (np.array(side) for side in zip(*joined, strict=True))
    scores = []
    for label in np.union1d(guesses, answers):  # sklearn's macro average: every label seen on either side
        hits = np.sum((guesses == label) & (answers == label))
        denominator = np.sum(guesses == label) + np.sum(answers == label)
        scores.append(2.0 * hits / denominator)
    return ObservedPerformance(len(joined), float(np.mean(guesses == answers)), float(np.mean(scores)))
