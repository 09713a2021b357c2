"""Classifiers on the selected frames: `shared` (head on X_i) and `heavy` (separate fine-tuned CNN)."""

from models.classifiers.consensus import tsn_consensus
from models.classifiers.heavy import HeavyClassifier
from models.classifiers.shared import SharedHead

CLASSIFIER_KINDS = ("shared", "heavy")

__all__ = ["CLASSIFIER_KINDS", "HeavyClassifier", "SharedHead", "tsn_consensus"]
