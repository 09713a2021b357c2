"""The open-set floor judged at event level on windows over back-to-back validation clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training.features import FeatureSet
from training.rejection import RejectionScore, choose_floor
from training.stream_validation import (
    MissCauses,
    choose_stream_floor,
    event_scores,
    in_burst,
    mean_scores,
    miss_causes,
    straddling_windows,
    stream_windows,
    synthetic_bursts,
)

IDLE = 2  # classes: walk, wave, idle


def test_straddling_windows_join_the_end_of_a_clip_with_the_start_of_the_next() -> None:
    representation = np.arange(3 * 4, dtype=np.float32).reshape(3, 4, 1)  # 3 clips, T=4, D=1
    data = FeatureSet(["a", "b", "c"], representation, np.ones((3, 4), bool), np.array([0, 1, 2]),
                      np.tile(np.arange(4), (3, 1)))

    windows = straddling_windows(data, np.array([2, 0, 1]))

    assert windows.video_ids == ["c+a", "a+b"]
    assert windows.representation[:, :, 0].tolist() == [[10, 11, 0, 1], [2, 3, 4, 5]]


def test_events_of_aligned_and_straddling_windows() -> None:
    labels = np.array([0, 1, IDLE])  # walk with its burst late, wave with its burst early, an idle clip
    flags = in_burst(np.tile(np.arange(4), (3, 1)), [(2, 4), (0, 1), None])  # T=4: halves [0,1] and [2,3]
    aligned = np.array([[0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.1, 0.2, 0.7]])  # wave missed, called idle
    straddling = np.array([[0.1, 0.2, 0.7],  # idle clip + walk's first half (no burst): idle, fine
                           [0.35, 0.6, 0.05]])  # walk's burst half + wave's burst frame (1 candidate): wave
    windows = stream_windows(aligned, straddling, flags, labels, order=np.array([2, 0, 1]))

    off, floor_07 = event_scores(windows, IDLE, min_burst_candidates=1, floors=(0.0, 0.7))
    strict = event_scores(windows, IDLE, min_burst_candidates=2, floors=(0.0,))[0]

    # Walk is reported by its aligned window, wave by the straddling one (one burst candidate is enough here).
    assert (off.recall, off.precision) == (1.0, 1.0)
    assert (floor_07.recall, floor_07.precision) == (0.5, 1.0)  # the unsure wave event is gone
    # Needing two burst candidates, the wave window holds walk's burst and one wave frame: a false event.
    assert (strict.recall, strict.precision) == (0.5, 0.5)


def test_a_window_without_burst_frames_reported_as_an_action_is_a_false_event() -> None:
    labels = np.array([0, IDLE])
    flags = in_burst(np.tile(np.arange(4), (2, 1)), [(0, 2), None])
    aligned = np.array([[0.9, 0.05, 0.05], [0.8, 0.1, 0.1]])  # the idle clip called walk
    windows = stream_windows(aligned, np.array([[0.1, 0.1, 0.8]]), flags, labels, order=np.array([0, 1]))

    [score] = event_scores(windows, IDLE, min_burst_candidates=2, floors=(0.0,))

    assert (score.recall, score.precision, score.idle_kept_idle) == (1.0, 0.5, 0.5)


def test_bursts_come_from_the_synthetic_truth_and_a_set_without_it_has_none(tmp_path: Path) -> None:
    (tmp_path / "truth" / "walk").mkdir(parents=True)
    (tmp_path / "truth" / "walk" / "v1.json").write_text(json.dumps({"burst": [3, 9]}))
    (tmp_path / "truth" / "walk" / "v2.json").write_text(json.dumps({"burst": [0, 0]}))

    assert synthetic_bursts(tmp_path, ["walk/v1", "walk/v2"]) == [(3, 9), None]
    assert synthetic_bursts(tmp_path, ["walk/v1", "walk/v3"]) is None


def test_a_window_touching_a_burst_at_its_edge_is_neither_true_nor_false() -> None:
    labels = np.array([IDLE, 0])
    flags = in_burst(np.tile(np.arange(4), (2, 1)), [None, (0, 1)])  # walk's burst: its first candidate only
    aligned = np.array([[0.1, 0.1, 0.8], [0.1, 0.1, 0.8]])
    windows = stream_windows(aligned, np.array([[0.9, 0.05, 0.05]]), flags, labels, order=np.array([0, 1]))

    [score] = event_scores(windows, IDLE, min_burst_candidates=2, floors=(0.0,))

    assert (score.recall, score.precision) == (0.0, 0.0)  # no true event, and the edge event is not a false one


def test_missed_bursts_split_into_below_the_floor_idle_and_another_action() -> None:
    labels = np.array([0, 1, 0, IDLE])  # walk (right, unsure), wave (called idle), walk (called wave), idle
    # The third walk's burst (frames 1-2) puts one candidate in each straddling window: only its own window holds it.
    flags = in_burst(np.tile(np.arange(4), (4, 1)), [(0, 4), (0, 4), (1, 3), None])
    aligned = np.array([[0.5, 0.2, 0.3], [0.1, 0.2, 0.7], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    straddling = np.full((3, 3), [0.1, 0.1, 0.8])  # every straddling window idle
    windows = stream_windows(aligned, straddling, flags, labels, order=np.arange(4))

    assert miss_causes(windows, IDLE, min_burst_candidates=2, floor=0.6) == MissCauses(1, 1, 1)
    assert miss_causes(windows, IDLE, min_burst_candidates=2, floor=0.0) == MissCauses(0, 1, 1)
    assert MissCauses.total([MissCauses(1, 0, 2), MissCauses(0, 3, 1)]) == MissCauses(1, 3, 3)


def test_the_floor_is_chosen_on_scores_averaged_over_several_clip_orders() -> None:
    # walk (unsure, right), wave (sure), idle; a straddling window that opens on the idle clip calls walk at 0.45.
    labels = np.array([0, 1, IDLE])
    data = FeatureSet(["w", "v", "i"], np.zeros((3, 4, 1), np.float32), np.ones((3, 4), bool), labels,
                      np.tile(np.arange(4), (3, 1)))
    bursts = [(0, 4), (0, 4), None]
    aligned = np.array([[0.45, 0.3, 0.25], [0.05, 0.9, 0.05], [0.1, 0.1, 0.8]])

    def classify(windows: FeatureSet) -> np.ndarray:
        return np.array([[0.45, 0.3, 0.25] if name.startswith("i+") else [0.1, 0.1, 0.8]
                         for name in windows.video_ids])

    chosen = choose_stream_floor(data, aligned, classify, bursts, IDLE, min_burst_candidates=2, seed=3, orders=4)

    rng, per_order = np.random.default_rng(3), []
    for _ in range(4):
        order = rng.permutation(3)
        windows = stream_windows(aligned, classify(straddling_windows(data, order)), in_burst(data.frame_indices,
                                 bursts), labels, order)
        per_order.append(event_scores(windows, IDLE, 2))
    assert chosen == choose_floor(mean_scores(per_order))
    # Orders differ here (the idle clip before the wave makes a false walk, before the walk a true one).
    assert len({tuple(score.precision for score in scores) for scores in per_order}) > 1


def test_mean_scores_average_each_floor_over_the_orders() -> None:
    first = [RejectionScore(0.0, 1.0, 0.5, 0.0), RejectionScore(0.5, 0.5, 1.0, 1.0)]
    second = [RejectionScore(0.0, 0.5, 0.7, 0.5), RejectionScore(0.5, 0.5, 0.9, 1.0)]

    assert mean_scores([first, second]) == [RejectionScore(0.0, 0.75, pytest.approx(0.6), 0.25),
                                            RejectionScore(0.5, 0.5, pytest.approx(0.95), 1.0)]
