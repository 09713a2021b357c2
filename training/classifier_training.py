"""The classifier step for either kind (`shared` head or `heavy` CNN) behind one small interface, used by
the pipeline for the main classifier and for the out-of-fold copies that build the oracle."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from torch import nn

from models.classifiers import SharedHead
from models.preprocessing import Preprocessing
from training.config import TrainConfig
from training.features import FeatureSet
from training.loop import EpochCallback, FitResult
from training.scoring import ClipScorer
from training.ucf101 import Ucf101Index


class ClassifierTrainer:
    def __init__(
        self, config: TrainConfig, index: Ucf101Index, preprocessing: Preprocessing, num_classes: int,
        progress: bool = True, initial: SharedHead | None = None,
    ) -> None:
        self.config = config
        # A warm start's head (training/warm_start.py): the validated fits start from it, the oracle's
        # out-of-fold copies never do.
        self.initial = initial
        self.num_classes = num_classes
        self.preprocessing = preprocessing
        self.progress = progress
        self.loss = config.loss.create()
        self._module: nn.Module | None = None
        if config.classifier.kind == "heavy":
            from training.heavy import FrameStore

            # Train, validation and test clips: the same scorer classifies all of them.
            self.store = FrameStore(index.train + index.test, config.features.num_candidates, preprocessing.image_size)

    @property
    def module(self) -> nn.Module:
        if self._module is None:
            raise RuntimeError("the classifier is not trained yet")
        return self._module

    def use(self, module: nn.Module) -> None:
        """Make an earlier fit the classifier again (it validated better than a later one)."""
        self._module = module

    def train(
        self, data: FeatureSet, validate: Callable[[ClipScorer], float] | None,
        on_epoch: EpochCallback | None = None, epochs: int | None = None,
    ) -> tuple[ClipScorer, FitResult]:
        settings = self.config.classifier
        scorer: ClipScorer
        module: nn.Module
        if settings.kind == "shared":
            from training.attention_mil import train_attention_head
            from training.shared import SharedScorer, train_shared_head

            train_head = train_attention_head if settings.frame_weighting == "attention" else train_shared_head
            head, result = train_head(
                data, self.num_classes, settings, self.config.optimizer, self.config.scheduler, self.loss,
                validate, epochs, on_epoch, self.config.seed, self.progress,
                self.initial if validate is not None else None,
            )
            module, scorer = head, SharedScorer(head)
        else:
            from training.heavy import HeavyScorer, train_heavy

            network, result = train_heavy(
                data, self.num_classes, self.store, self.preprocessing, settings, self.config.augment,
                self.config.optimizer, self.config.scheduler, self.loss, validate, epochs, on_epoch,
                self.config.seed, self.progress,
            )
            module, scorer = network, HeavyScorer(network, self.store, self.preprocessing)
        if validate is not None:
            self._module = module
        return scorer, result

    def frame_probabilities(self, data: FeatureSet, fit_rows: np.ndarray, predict_rows: np.ndarray) -> np.ndarray:
        """Train a fresh copy on `fit_rows` and score every frame of `predict_rows` on its own.

        Out-of-fold copies run the full configured schedule: there is no validation set to stop them on.
        """
        scorer, _ = self.train(data.subset(fit_rows), validate=None)
        return scorer.frame_probabilities(data.subset(predict_rows))
