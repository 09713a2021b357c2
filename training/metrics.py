"""Classification metrics from integer predictions and targets (numpy), and the primary-metric rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

PrimaryMetric = Literal["accuracy", "macro_f1"]


@dataclass(frozen=True)
class ClassificationReport:
    """Accuracy, per-class and macro precision/recall/F1, and the confusion matrix.

    Macro averages run over the classes that occur in the targets or the predictions (as scikit-learn
    does by default), so a class absent from a small evaluation set does not count as a zero.
    """

    accuracy: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    precision: np.ndarray  # [C]
    recall: np.ndarray  # [C]
    f1: np.ndarray  # [C]
    support: np.ndarray  # [C] number of targets per class
    confusion: np.ndarray  # [C, C], rows = true class, columns = predicted class
    class_names: list[str]

    def metric(self, name: PrimaryMetric) -> float:
        """The value of ``accuracy`` or ``macro_f1``."""
        return self.accuracy if name == "accuracy" else self.macro_f1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: scalars, per-class dicts keyed by class name, and the confusion matrix."""
        return {
            "accuracy": self.accuracy,
            "macro_precision": self.macro_precision,
            "macro_recall": self.macro_recall,
            "macro_f1": self.macro_f1,
            "per_class": {
                name: {
                    "precision": float(self.precision[label]),
                    "recall": float(self.recall[label]),
                    "f1": float(self.f1[label]),
                    "support": int(self.support[label]),
                }
                for label, name in enumerate(self.class_names)
            },
            "confusion_matrix": self.confusion.tolist(),
            "class_names": list(self.class_names),
        }


def confusion_matrix(targets: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts [C, C] with rows = true class and columns = predicted class."""
    targets, predictions = _validated(targets, predictions, num_classes)
    flat = targets * num_classes + predictions
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def accuracy(targets: np.ndarray, predictions: np.ndarray) -> float:
    """Fraction of predictions equal to the target."""
    targets, predictions = np.asarray(targets), np.asarray(predictions)
    if targets.shape != predictions.shape or targets.size == 0:
        raise ValueError(f"need equal, non-empty shapes, got {targets.shape} and {predictions.shape}")
    return float(np.mean(targets == predictions))


def precision_recall_f1(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 from a confusion matrix; 0 where undefined (0/0)."""
    true_positives = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0).astype(np.float64)
    actual = confusion.sum(axis=1).astype(np.float64)
    precision = _safe_divide(true_positives, predicted)
    recall = _safe_divide(true_positives, actual)
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    return precision, recall, f1


def macro_f1(targets: np.ndarray, predictions: np.ndarray, num_classes: int) -> float:
    """Mean F1 over the classes present in targets or predictions."""
    return classification_report(targets, predictions, num_classes).macro_f1


def classification_report(
    targets: np.ndarray,
    predictions: np.ndarray,
    num_classes: int,
    class_names: Sequence[str] | None = None,
) -> ClassificationReport:
    """Every metric of this module for one evaluation."""
    names = list(class_names) if class_names is not None else [str(label) for label in range(num_classes)]
    if len(names) != num_classes:
        raise ValueError(f"{len(names)} class names for {num_classes} classes")
    confusion = confusion_matrix(targets, predictions, num_classes)
    precision, recall, f1 = precision_recall_f1(confusion)
    present = (confusion.sum(axis=0) + confusion.sum(axis=1)) > 0
    return ClassificationReport(
        accuracy=accuracy(targets, predictions),
        macro_precision=float(precision[present].mean()),
        macro_recall=float(recall[present].mean()),
        macro_f1=float(f1[present].mean()),
        precision=precision,
        recall=recall,
        f1=f1,
        support=confusion.sum(axis=1),
        confusion=confusion,
        class_names=names,
    )


def choose_primary_metric(class_counts: Sequence[int], imbalance_ratio: float = 1.5) -> PrimaryMetric:
    """``accuracy`` when the largest class is at most ``imbalance_ratio`` x the smallest, else ``macro_f1``."""
    counts = np.asarray(class_counts, dtype=np.float64)
    if counts.size == 0:
        raise ValueError("class_counts is empty")
    if imbalance_ratio < 1.0:
        raise ValueError(f"imbalance_ratio must be >= 1, got {imbalance_ratio}")
    smallest = counts.min()
    if smallest <= 0 or counts.max() / smallest > imbalance_ratio:
        return "macro_f1"
    return "accuracy"


def _validated(targets: np.ndarray, predictions: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    targets = np.asarray(targets, dtype=np.int64).ravel()
    predictions = np.asarray(predictions, dtype=np.int64).ravel()
    if targets.shape != predictions.shape or targets.size == 0:
        raise ValueError(f"need equal, non-empty shapes, got {targets.shape} and {predictions.shape}")
    for name, values in (("targets", targets), ("predictions", predictions)):
        if values.min() < 0 or values.max() >= num_classes:
            raise ValueError(f"{name} must lie in [0, {num_classes}), got [{values.min()}, {values.max()}]")
    return targets, predictions


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
