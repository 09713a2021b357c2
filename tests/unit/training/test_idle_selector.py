"""Mining idle candidates by their neighbours' labels, and the frames the idle selector trains on."""

from __future__ import annotations

import numpy as np
import pytest

from training import idle_selector
from training.idle_selector import (
    IdleSelectorSettings,
    MinedCandidates,
    idle_scores,
    idle_training_frames,
    mine_idle_candidates,
    neighbour_purity,
    second_round_frames,
)

_CLASSES, _CLIPS_PER_CLASS = 4, 4


def _classes_and_a_distractor() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[N,3,F] features, [N,3] energy, [N] labels: candidate 0 of each clip is its class's action (feature = the
    class), candidate 1 the same distractor in every class (the most energetic), candidate 2 still."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(_CLASSES), _CLIPS_PER_CLASS)
    features = rng.normal(0.0, 0.05, size=(len(labels), 3, _CLASSES + 2))
    features[np.arange(len(labels)), 0, labels] += 1.0
    features[:, 1, _CLASSES] += 1.0
    features[:, 2, _CLASSES + 1] += 1.0
    energy = np.tile([2.0, 3.0, 0.0], (len(labels), 1))
    return features, energy, labels


def test_purity_is_the_share_of_other_clips_neighbours_with_the_same_label() -> None:
    features, _, labels = _classes_and_a_distractor()
    clips = np.repeat(np.arange(len(labels)), 2)
    pooled = features[:, :2].reshape(len(clips), -1)
    purity = neighbour_purity(pooled, labels[clips], clips, neighbours=_CLIPS_PER_CLASS - 1)
    # an action's nearest candidates of other clips are its class's other actions; a distractor's, distractors of
    # any class (3 of the 15 others carry its label: 0.2 on average)
    assert purity[0::2].tolist() == [1.0] * len(labels)
    assert purity[1::2].mean() <= 0.4


def test_a_clips_own_candidates_are_no_neighbours() -> None:
    """Two near-identical candidates of one clip would each count the other as a neighbour of its own label."""
    features = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0], [0.7, 0.7]])
    labels = np.array([0, 0, 1, 1])
    purity = neighbour_purity(features, labels, clips=np.array([0, 0, 1, 2]), neighbours=1)
    assert purity[0] == 0.0 and purity[1] == 0.0  # each one's nearest candidate of another clip is class 1's


def test_purity_is_the_same_whatever_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    features, labels, clips = rng.normal(size=(50, 6)), rng.integers(0, 3, 50), np.repeat(np.arange(10), 5)
    whole = neighbour_purity(features, labels, clips, neighbours=5)
    monkeypatch.setattr(idle_selector, "_ROWS_PER_BLOCK", 7)
    assert np.array_equal(neighbour_purity(features, labels, clips, neighbours=5), whole)


def test_the_distractor_is_mined_and_the_still_candidate_is_not_pooled() -> None:
    features, energy, labels = _classes_and_a_distractor()
    mined = mine_idle_candidates(features, energy, labels, IdleSelectorSettings(pool=2, neighbours=3,
                                                                                purity_cut=0.5))
    assert set(mined.positions.tolist()) == {1}  # distractors only, never an action, nor the still candidate
    assert len(mined.clips) >= 0.75 * len(labels)
    assert mined.pool_purity.shape == (len(labels), 2)


def test_mining_refuses_a_single_class() -> None:
    features, energy, _ = _classes_and_a_distractor()
    with pytest.raises(ValueError, match="two classes or more"):
        mine_idle_candidates(features, energy, np.zeros(len(features), dtype=np.int64), IdleSelectorSettings())


def test_pure_pooled_candidates_train_as_their_label_and_mined_ones_as_idle() -> None:
    """Between the two cuts a pooled candidate trains as neither: its neighbours say neither action nor idle."""
    pool_positions = np.array([[3, 0, 7], [5, 1, 2]])
    pool_purity = np.array([[0.9, 0.5, 0.1], [0.2, 0.7, 0.45]])
    mined = MinedCandidates(clips=np.array([0, 1]), positions=np.array([7, 5]), pool_positions=pool_positions,
                            pool_purity=pool_purity)
    clips, positions, targets = idle_training_frames(np.array([4, 6]), mined, IdleSelectorSettings(), idle_class=8)
    assert list(zip(clips.tolist(), positions.tolist(), targets.tolist(), strict=True)) == [
        (0, 3, 4), (1, 1, 6), (0, 7, 8), (1, 5, 8)]


def test_the_second_round_trains_the_top_ranked_candidates_as_the_action_and_the_rest_of_the_mined_as_idle() -> None:
    """A mined candidate that SMART ranks among the first leaves the idle class: it trains as its clip's action."""
    scores = np.array([[0.1, 3.0, 2.0, -1.0], [2.5, 0.0, 1.0, 4.0]])
    mined = MinedCandidates(clips=np.array([0, 0, 1]), positions=np.array([2, 3, 1]),
                            pool_positions=np.zeros((2, 1), dtype=np.int64), pool_purity=np.zeros((2, 1)))
    clips, positions, targets = second_round_frames(np.array([4, 6]), mined, scores, picks=2, idle_class=8)
    assert list(zip(clips.tolist(), positions.tolist(), targets.tolist(), strict=True)) == [
        (0, 1, 4), (0, 2, 4), (1, 3, 6), (1, 0, 6), (0, 3, 8), (1, 1, 8)]


def test_the_second_round_leaves_a_short_windows_last_ranked_candidate_to_the_idle_class() -> None:
    mined = MinedCandidates(clips=np.array([0]), positions=np.array([1]), pool_positions=np.zeros((1, 1)),
                            pool_purity=np.zeros((1, 1)))
    clips, positions, targets = second_round_frames(np.array([4]), mined, np.array([[0.3, -2.0, 1.0, 0.5]]),
                                                    picks=6, idle_class=8)
    assert list(zip(clips.tolist(), positions.tolist(), targets.tolist(), strict=True)) == [
        (0, 2, 4), (0, 3, 4), (0, 0, 4), (0, 1, 8)]


def test_the_action_cut_cannot_sit_below_the_idle_cut() -> None:
    with pytest.raises(ValueError, match="action_purity must be at least purity_cut"):
        IdleSelectorSettings(purity_cut=0.5, action_purity=0.4)


def test_the_score_adds_the_weighted_evidence_of_an_action_to_the_energy() -> None:
    energy = np.array([[-np.inf, 1.0, 2.0]])
    alone = IdleSelectorSettings(weight=2.0, neighbour_share=0.0, evidence="probability")
    assert idle_scores(np.array([[0.5, 0.0, 1.0]]), energy, alone).tolist() == [[-np.inf, 3.0, 2.0]]


def test_the_evidence_is_averaged_with_the_neighbouring_candidates() -> None:
    """A lone confident candidate between idle ones scores below one inside a run of them: bursts last several
    candidates, a distractor's motion comes and goes. The ends count themselves for the neighbour they lack."""
    idle = np.array([[1.0, 0.0, 1.0, 0.0, 0.0, 0.0]])
    scores = idle_scores(idle, np.zeros_like(idle), IdleSelectorSettings(weight=1.0, neighbour_share=0.5,
                                                                         evidence="probability"))
    assert scores.tolist() == [[0.25, 0.5, 0.5, 0.75, 1.0, 1.0]]


def test_standardised_evidence_weighs_as_much_in_a_clip_the_selector_sees_faintly() -> None:
    """The same pattern at a third of the contrast (an action the selector is unsure of) moves SMART's score as
    much as the clear one, as the energy's own standardisation lets a faint burst count."""
    clear_action = np.array([0.1, 0.1, 0.9, 0.9, 0.1, 0.5])
    idle = 1.0 - np.stack([clear_action, clear_action / 3])
    settings = IdleSelectorSettings(weight=0.6, neighbour_share=0.0)
    evidence = idle_scores(idle, np.zeros_like(idle), settings)
    assert np.allclose(evidence[0], evidence[1], atol=1e-4)
    assert np.median(evidence[0]) == pytest.approx(0.0, abs=1e-6)
    assert np.std(evidence[0]) == pytest.approx(0.6, rel=1e-4)  # the weight x one standard deviation
    as_probability = idle_scores(idle, np.zeros_like(idle), settings.model_copy(update={"evidence": "probability"}))
    assert np.ptp(as_probability[1]) == pytest.approx(np.ptp(as_probability[0]) / 3)
