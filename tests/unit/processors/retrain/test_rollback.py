"""Rollback decisions after a promotion: label-free estimate and observed accuracy against the parent's, with
minimum counts, chance margins, the watch period, and state that survives a restart."""

from __future__ import annotations

import numpy as np
import pytest

from processors.retrain.live import LiveFigures, significant_drop
from processors.retrain.rollback import RollbackPolicy, RollbackSettings, RollbackState
from streams.schemas import DriftReport

T0 = 1_764_000_000.0
PARENT, PROMOTED = "m/1", "m/2"


def _report(version: str, index: int, estimated: float | None, *, camera: str = "cam1", observed: float | None = None,
            labels: int = 0, reference_kind: str = "training") -> DriftReport:
    start = T0 + 60.0 * index
    return DriftReport(
        report_id=f"{version}-{camera}-{index}", site="demo", camera=camera, reference=version,
        reference_kind=reference_kind, window_start=start, window_end=start + 60.0, frames=100, outcomes=15,
        scores=[], drifted_columns=[], share_drifted=0.0, embedding_mmd2=None, embedding_p_value=None,
        estimated_accuracy=estimated, reference_accuracy=0.9, observed_accuracy=observed, observed_macro_f1=None,
        labels=labels, causes=[], verdict="ok", model_version=version, published_at=start + 60.0)


def _feed(policy: RollbackPolicy, version: str, estimates: np.ndarray, **kwargs: object) -> None:
    for index, estimate in enumerate(estimates):
        policy.observe(_report(version, index, float(estimate), **kwargs))  # type: ignore[arg-type]


def _promoted(parent_estimates: np.ndarray, **settings: object) -> RollbackPolicy:
    policy = RollbackPolicy(RollbackSettings.model_validate(settings))
    _feed(policy, PARENT, parent_estimates)
    policy.promoted("req-1", "demo", PROMOTED, PARENT, at=T0)
    return policy


def _noisy(mean: float, count: int, seed: int) -> np.ndarray:
    return mean + np.random.default_rng(seed).normal(0.0, 0.04, count)


def test_a_clear_estimate_drop_rolls_back_with_reasons_and_figures() -> None:
    policy = _promoted(_noisy(0.85, 30, 0))
    _feed(policy, PROMOTED, _noisy(0.70, 9, 1))
    assert policy.decide(T0 + 600) == []  # 9 windows: below min_windows
    policy.observe(_report(PROMOTED, 9, 0.70))
    [verdict] = policy.decide(T0 + 660)
    assert (verdict.action, verdict.watch.version, verdict.watch.parent) == ("rollback", PROMOTED, PARENT)
    assert "label-free estimate" in verdict.reasons[0] and PARENT in verdict.reasons[0]
    assert verdict.live is not None and verdict.live.windows == 10 and verdict.live.reference_windows == 30
    assert verdict.live.estimated_accuracy == pytest.approx(0.70, abs=0.03)
    assert policy.decide(T0 + 720) == []  # the watch ended with the verdict


def test_an_equal_or_better_model_is_confirmed_after_the_watch_period() -> None:
    policy = _promoted(_noisy(0.80, 30, 2), watch_s=3600.0)
    _feed(policy, PROMOTED, _noisy(0.79, 40, 3))  # a point lower: within tolerance and chance
    assert policy.decide(T0 + 3599) == []
    [verdict] = policy.decide(T0 + 3600)
    assert verdict.action == "confirm" and verdict.reasons


def test_a_drop_within_chance_is_not_rolled_back() -> None:
    # 6 points lower, but over windows so noisy that the difference is not beyond tolerance + 1.645 se.
    policy = _promoted(np.array([0.95, 0.65] * 6))
    _feed(policy, PROMOTED, np.array([0.89, 0.59] * 6))
    assert policy.decide(T0 + 60) == []


@pytest.mark.parametrize("labels, rolled_back", [(14, False), (100, True)])  # per camera: 28 < 30 in all
def test_observed_accuracy_needs_min_labels_on_both_sides(labels: int, rolled_back: bool) -> None:
    policy = RollbackPolicy(RollbackSettings())
    for camera in ("cam1", "cam2"):
        policy.observe(_report(PARENT, 0, None, camera=camera, observed=0.9, labels=labels))
    policy.promoted("req-1", "demo", PROMOTED, PARENT, at=T0)
    policy.observe(_report(PROMOTED, 1, None, camera="cam1", observed=0.7, labels=labels))
    policy.observe(_report(PROMOTED, 1, None, camera="cam2", observed=0.7, labels=labels))
    verdicts = policy.decide(T0 + 60)
    assert bool(verdicts) is rolled_back
    if rolled_back:
        assert verdicts[0].reasons == [f"observed accuracy 0.700 on {2 * labels} labels vs 0.900 on {2 * labels} for "
                                       f"{PARENT}: a drop of 0.200, more than 0.030 beyond chance"]


def test_only_camera_windows_against_the_training_profile_count() -> None:
    policy = RollbackPolicy(RollbackSettings())
    policy.observe(_report(PARENT, 0, 0.8))
    policy.observe(_report(PARENT, 0, 0.8, reference_kind="camera"))  # the same window's baseline report
    policy.observe(_report(PARENT, 0, 0.8, camera="*"))  # the site window
    assert policy.state.figures[PARENT].windows == 1


def test_reports_read_before_the_promotion_record_count_and_replays_are_ignored() -> None:
    policy = RollbackPolicy(RollbackSettings())
    # Two topics read in any order: the promoted model's windows may come in before its promotion record.
    _feed(policy, PROMOTED, np.full(10, 0.6))
    assert policy.promoted("req-1", "demo", PROMOTED, PARENT, at=T0)
    assert not policy.promoted("req-1", "demo", PROMOTED, PARENT, at=T0 + 5)
    assert len(policy.state.watches) == 1
    _feed(policy, PARENT, _noisy(0.85, 12, 7))  # and the parent's after it
    assert [verdict.action for verdict in policy.decide(T0 + 60)] == ["rollback"]
    policy.promoted("req-1", "demo", PROMOTED, PARENT, at=T0)
    policy.forget(PROMOTED)  # its rollback record, read back after a restart
    assert policy.state.watches == []


def test_state_survives_a_restart() -> None:
    policy = _promoted(_noisy(0.85, 30, 4))
    _feed(policy, PROMOTED, _noisy(0.70, 5, 5))
    restored = RollbackPolicy(policy.settings, RollbackState.model_validate_json(policy.state.model_dump_json()))
    _feed(restored, PROMOTED, _noisy(0.70, 5, 6))
    assert [verdict.action for verdict in restored.decide(T0 + 600)] == ["rollback"]


def test_live_figures_and_significant_drop() -> None:
    figures = LiveFigures()
    for estimate in (0.8, 0.9, 1.0):
        figures.add_estimate(estimate, keep=2)
    assert figures.estimates == [0.9, 1.0] and figures.estimated == pytest.approx(0.95)
    assert figures.estimated_stderr == pytest.approx(0.05)
    figures.set_observed("demo/a", 10, 0.5)
    figures.set_observed("demo/b", 30, 0.9)
    assert (figures.labels, figures.observed) == (40, pytest.approx(0.8))
    assert significant_drop(0.7, 0.0, 0.8, 0.0, 0.05, 1.645) == pytest.approx(0.1)
    assert significant_drop(0.7, 0.03, 0.8, 0.03, 0.05, 1.645) is None  # 0.1 - 1.645 * 0.042 < 0.05
