"""Our column tests against Evidently 0.7's own report on the same data: same test choice, same score, same
drifted-column count, at Evidently's default thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from processors.drift.stattests import categorical_drift, counts_of, numerical_drift
from tests.unit.processors.drift.evidently_runs import evidently_column_drift


def _columns(rng: np.random.Generator, rows: int, shift: float) -> dict[str, np.ndarray | list[str]]:
    return {
        "brightness": rng.normal(110 + shift, 18, rows),
        "sharpness": rng.gamma(4.0, 60.0 * (1 - shift / 100), rows),
        "few_values": rng.integers(0, 4, rows).astype(float),  # 4 distinct values: chi-squared or JS
        "label": list(rng.choice(["idle", "walk", "run", "fall"], rows, p=[0.4, 0.3, 0.2, 0.1] if not shift
                                 else [0.1, 0.2, 0.3, 0.4])),
        "door": list(rng.choice(["open", "shut"], rows, p=[0.5, 0.5] if not shift else [0.3, 0.7])),  # z-test
    }


def _ours(reference: dict[str, np.ndarray | list[str]], current: dict[str, np.ndarray | list[str]]
          ) -> dict[str, tuple[str, float, bool]]:
    results: dict[str, tuple[str, float, bool]] = {}
    for column in reference:
        if column in ("label", "door"):
            drift = categorical_drift(column, counts_of(reference[column]), counts_of(current[column]))
        else:
            drift = numerical_drift(column, np.asarray(reference[column]), np.asarray(current[column]))
        results[column] = (drift.test, drift.score, drift.drifted)
    return results


@pytest.mark.parametrize("reference_rows, shift, expected_tests", [
    (600, 0.0, {"brightness": "ks", "few_values": "chisquare", "label": "chisquare", "door": "z"}),
    (600, 30.0, {"brightness": "ks", "few_values": "chisquare", "label": "chisquare", "door": "z"}),
    (1500, 0.0, {"brightness": "wasserstein", "few_values": "jensenshannon", "label": "jensenshannon",
                 "door": "jensenshannon"}),
    (1500, 30.0, {"brightness": "wasserstein", "few_values": "jensenshannon", "label": "jensenshannon",
                  "door": "jensenshannon"}),
])
def test_column_tests_agree_with_evidently(reference_rows: int, shift: float, expected_tests: dict[str, str]) -> None:
    rng = np.random.default_rng(int(reference_rows + shift))
    reference, current = _columns(rng, reference_rows, 0.0), _columns(rng, 150, shift)
    ours = _ours(reference, current)
    theirs = evidently_column_drift(reference, current, categorical=["label", "door"])
    for column, (test, score, _) in ours.items():
        assert theirs.scores[column][0] == test
        assert score == pytest.approx(theirs.scores[column][1], rel=1e-9, abs=1e-12), column
    assert {column: ours[column][0] for column in expected_tests} == expected_tests
    assert sum(drifted for _, _, drifted in ours.values()) == theirs.drifted_count
    if shift:
        assert ours["brightness"][2] and ours["label"][2]


def test_thresholds_and_direction() -> None:
    rng = np.random.default_rng(3)
    same = numerical_drift("x", rng.normal(size=500), rng.normal(size=200))
    moved = numerical_drift("x", rng.normal(size=500), rng.normal(1.0, 1.0, 200))
    assert same.test == "ks" and same.threshold == 0.05 and not same.drifted
    assert moved.drifted and moved.score < 1e-6
    # A distance drifts at or above its threshold; a stricter p-value threshold can clear a p-value drift.
    assert numerical_drift("x", rng.normal(size=1500), rng.normal(1.0, 1.0, 200)).drifted
    assert not numerical_drift("x", rng.normal(size=500), rng.normal(0.3, 1.0, 200), threshold=1e-12).drifted


def test_a_category_missing_from_the_reference_is_drift() -> None:
    drift = categorical_drift("label", {"idle": 50, "walk": 50}, {"idle": 10, "walk": 10, "juggle": 5})
    assert drift.test == "chisquare" and drift.score == 0.0 and drift.drifted


def test_one_value_on_both_sides_is_no_drift() -> None:
    drift = categorical_drift("label", {"idle": 50}, {"idle": 7})
    assert drift.test == "z" and drift.score == 1.0 and not drift.drifted


def test_empty_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        numerical_drift("x", np.ones(10), np.zeros(0))
    with pytest.raises(ValueError, match="empty"):
        categorical_drift("label", {}, {"idle": 1})


def test_the_two_sample_label_test_treats_a_small_reference_as_a_sample() -> None:
    # 45 baseline outcomes against 15 current ones drawn from the same mix: goodness of fit takes the
    # baseline's proportions as exact and fires far more often than the level it is run at.
    rng = np.random.default_rng(0)
    mix = ["walk", "wave", "fall", "sit", "run"]
    weights = [0.4, 0.3, 0.15, 0.1, 0.05]
    fired = {False: 0, True: 0}
    for _ in range(400):
        reference = counts_of(rng.choice(mix, 45, p=weights).tolist())
        current = counts_of(rng.choice(mix, 15, p=weights).tolist())
        for two_sample in fired:
            fired[two_sample] += categorical_drift("label", reference, current, 0.005, two_sample=two_sample).drifted
    assert fired[True] / 400 <= 0.01 < fired[False] / 400
    shifted = categorical_drift("label", {"walk": 40, "wave": 5}, {"fall": 12, "walk": 3}, 0.005, two_sample=True)
    assert shifted.test == "chisquare_2sample" and shifted.drifted
