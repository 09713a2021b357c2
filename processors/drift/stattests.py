"""Column drift tests with the semantics of Evidently 0.7's defaults (legacy/calculations/stattests), on
numpy arrays and count tables instead of pandas Series, so one window costs microseconds, not a report.

Test choice (Evidently's `_get_default_stattest`): a reference of at most 1,000 values gets KS (numerical
with more than 5 distinct values), chi-squared (categorical, or numerical with 3-5 values) or the
two-proportion z-test (2 values or fewer); a larger reference gets the normed Wasserstein distance
(numerical) or the Jensen-Shannon distance (categorical). p-value tests drift below the threshold (KS: at or
below), distance tests at or above it.

One addition: `chisquare_2sample`, the two-sample (contingency) chi-squared. Evidently's chi-squared is a
goodness-of-fit test that takes the reference proportions as exact; against a reference that is itself a
small sample (a camera baseline of a few minutes of outcomes) that fires far too often.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats
from scipy.spatial import distance

TestName = Literal["ks", "chisquare", "chisquare_2sample", "z", "wasserstein", "jensenshannon"]
DEFAULT_THRESHOLDS: dict[TestName, float] = {
    "ks": 0.05, "chisquare": 0.05, "chisquare_2sample": 0.05, "z": 0.05, "wasserstein": 0.1, "jensenshannon": 0.1,
}
_P_VALUE_TESTS = {"ks", "chisquare", "chisquare_2sample", "z"}
# Evidently switches from p-value tests to distances above this many reference values.
LARGE_REFERENCE = 1000
# Numerical columns with this few distinct values are tested as categories.
FEW_VALUES = 5


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    test: TestName
    score: float  # p-value for ks / chisquare / z, distance for wasserstein / jensenshannon
    threshold: float
    drifted: bool


def counts_of(values: Iterable[object]) -> dict[str, int]:
    """Category -> count (the value_counts Evidently tests categorical columns on)."""
    return {str(key): count for key, count in Counter(str(value) for value in values).items()}


def _verdict(test: TestName, score: float, threshold: float) -> bool:
    if test == "ks":
        return score <= threshold
    if test in _P_VALUE_TESTS:
        return score < threshold
    return score >= threshold


def categorical_drift(column: str, reference: Mapping[str, int], current: Mapping[str, int],
                      threshold: float | None = None, two_sample: bool = False) -> ColumnDrift:
    """Drift of a categorical column given its count tables (a new category in current counts as drift,
    except with `two_sample`, where it weighs as any other difference in proportions)."""
    keys = sorted(key for key in set(reference) | set(current) if reference.get(key, 0) or current.get(key, 0))
    ref = np.array([reference.get(key, 0) for key in keys], dtype=float)
    cur = np.array([current.get(key, 0) for key in keys], dtype=float)
    n_ref, n_cur = ref.sum(), cur.sum()
    if n_ref == 0 or n_cur == 0:
        raise ValueError(f"column {column!r}: empty reference or current sample")
    test: TestName
    if n_ref > LARGE_REFERENCE:
        test, score = "jensenshannon", float(distance.jensenshannon(ref / n_ref, cur / n_cur))
    elif two_sample:
        test = "chisquare_2sample"
        score = float(stats.chi2_contingency(np.stack([ref, cur])).pvalue) if len(keys) > 1 else 1.0
    elif len(keys) > 2:
        test, score = "chisquare", _chisquare(ref, cur)
    else:
        test, score = "z", _z_test(ref, cur)
    return _result(column, test, score, threshold)


def numerical_drift(column: str, reference: np.ndarray, current: np.ndarray,
                    threshold: float | None = None) -> ColumnDrift:
    reference, current = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    if reference.size == 0 or current.size == 0:
        raise ValueError(f"column {column!r}: empty reference or current sample")
    if np.unique(np.concatenate([reference, current])).size <= FEW_VALUES:
        return categorical_drift(column, counts_of(reference.tolist()), counts_of(current.tolist()), threshold)
    test: TestName
    if reference.size > LARGE_REFERENCE:
        norm = max(float(np.std(reference)), 0.001)
        test, score = "wasserstein", float(stats.wasserstein_distance(reference, current)) / norm
    else:
        test, score = "ks", float(stats.ks_2samp(reference, current).pvalue)
    return _result(column, test, score, threshold)


def _result(column: str, test: TestName, score: float, threshold: float | None) -> ColumnDrift:
    limit = DEFAULT_THRESHOLDS[test] if threshold is None else threshold
    return ColumnDrift(column, test, score, limit, bool(_verdict(test, score, limit)))


def _chisquare(ref: np.ndarray, cur: np.ndarray) -> float:
    expected = ref * (cur.sum() / ref.sum())
    # A category absent from the reference has no expected count: infinite statistic, p = 0, as in scipy.
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(cur == expected, 0.0, (cur - expected) ** 2 / expected)
    return float(stats.chi2.sf(terms.sum(), ref.size - 1))


def _z_test(ref: np.ndarray, cur: np.ndarray) -> float:
    if ref.size == 1:  # one value on both sides
        return 1.0
    # Share of values that are not the first (sorted) category, as Evidently codes them.
    n1, n2 = ref.sum(), cur.sum()
    p1, p2 = ref[1:].sum() / n1, cur[1:].sum() / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - stats.norm.cdf(np.abs(z))))
