"""Open-set rejection: clip-level recall and precision per confidence floor, and the floor chosen from them."""

from __future__ import annotations

import json

import numpy as np

from training.features import FeatureSet
from training.pipeline import validation_floor
from training.rejection import choose_floor, rejection_scores

IDLE = 2  # classes: walk, wave, idle


def test_scores_per_floor() -> None:
    probabilities = np.array([
        [0.9, 0.05, 0.05],  # walk, sure and right
        [0.5, 0.3, 0.2],  # wave clip called walk, unsure: a floor of 0.6 makes it idle
        [0.1, 0.55, 0.35],  # wave, right but unsure: the same floor loses it
        [0.7, 0.1, 0.2],  # an idle clip called walk with some confidence
        [0.1, 0.1, 0.8],  # idle, right
    ])
    labels = np.array([0, 1, 1, IDLE, IDLE])

    off, floor_06, floor_08 = rejection_scores(probabilities, labels, IDLE, floors=(0.0, 0.6, 0.8))

    assert (off.recall, off.precision, off.idle_kept_idle) == (2 / 3, 0.5, 0.5)
    assert (floor_06.recall, floor_06.precision, floor_06.idle_kept_idle) == (1 / 3, 0.5, 0.5)
    assert (floor_08.recall, floor_08.precision, floor_08.idle_kept_idle) == (1 / 3, 1.0, 1.0)
    # min(recall, precision): 0.5, 1/3, 1/3: no floor beats the idle class alone here.
    assert choose_floor([off, floor_06, floor_08]) is off


def test_a_tie_goes_to_the_lower_floor() -> None:
    probabilities = np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]])
    labels = np.array([0, IDLE])

    scores = rejection_scores(probabilities, labels, IDLE, floors=(0.5, 0.0, 0.7))

    assert choose_floor(scores).floor == 0.0
    assert json.loads(scores[1].json_line(clips=2)) == {"bench": "rejection", "clips": 2, "floor": 0.0,
                                                         "recall": 1.0, "precision": 1.0, "idle_kept_idle": 1.0}


def test_training_chooses_the_floor_only_for_a_model_with_an_idle_class() -> None:
    probabilities = np.array([[0.9, 0.05, 0.05], [0.7, 0.2, 0.1], [0.55, 0.25, 0.2], [0.1, 0.1, 0.8]])
    labels = np.array([0, 0, IDLE, IDLE])  # the idle clip called walk at 0.55: a floor of 0.6 drops it alone
    clips = FeatureSet(["a", "b", "c", "d"], np.zeros((4, 2, 1), np.float32), np.ones((4, 2), bool), labels,
                       np.zeros((4, 2), np.int64))

    chosen = validation_floor(clips, probabilities, ["walk", "wave", "idle"], stream=None)  # per clip

    assert chosen is not None and (chosen.floor, chosen.recall, chosen.precision) == (0.6, 1.0, 1.0)
    assert validation_floor(clips, probabilities, ["walk", "wave", "run"], stream=None) is None
