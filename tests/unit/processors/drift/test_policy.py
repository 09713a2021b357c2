"""Retrain policy: persistence, cool-down, one open request per site, daily cap, per-camera rules."""

from __future__ import annotations

import pytest

from processors.drift.policy import PolicyRules, PolicySettings, PolicyState, RetrainPolicy, window_flags
from streams.schemas import ColumnScore, DriftReport

WINDOW_S = 60.0
T0 = 1_764_000_000.0


def _report(camera: str = "cam1", index: int = 0, *, drift: bool = True, site: str = "demo",
            reference_kind: str = "camera", estimated: float | None = 0.8, observed: float | None = None,
            labels: int = 0, prediction: bool = False, reference_observed: float | None = 0.82,
            reference_labels: int = 60) -> DriftReport:
    start = T0 + index * WINDOW_S
    scores = [ColumnScore(column="brightness", test="ks", score=1e-9 if drift else 0.4, threshold=0.005,
                          drifted=drift),
              ColumnScore(column="label", test="chisquare", score=1e-4 if prediction else 0.5, threshold=0.005,
                          drifted=prediction)]
    causes = [*(["data_drift"] if drift else []), *(["prediction_drift"] if prediction else [])]
    return DriftReport(
        report_id=f"{site}-{camera}-{index}", site=site, camera=camera, reference="baseline",
        reference_kind=reference_kind, window_start=start, window_end=start + WINDOW_S, frames=200, outcomes=30,
        scores=scores, drifted_columns=[score.column for score in scores if score.drifted],
        share_drifted=1 / 3 if drift else 0.0, embedding_mmd2=0.001, embedding_p_value=0.4,
        estimated_accuracy=estimated, reference_accuracy=0.82, observed_accuracy=observed, observed_macro_f1=None,
        labels=labels, reference_observed_accuracy=reference_observed, reference_labels=reference_labels,
        causes=causes, verdict="drift" if causes else "ok", model_version="7",
        published_at=start + WINDOW_S,
    )


def _policy(**settings: object) -> RetrainPolicy:
    return RetrainPolicy(PolicySettings.model_validate(settings))


def _at(index: int) -> float:
    return T0 + (index + 1) * WINDOW_S


def test_persistence_needs_k_of_the_last_m_windows() -> None:
    policy = _policy()
    pattern = [True, False, True, False, True]  # the third drifted window of five crosses k=3
    decisions = [policy.observe(_report(index=index, drift=drift), _at(index)) for index, drift in enumerate(pattern)]
    assert [decision.publish for decision in decisions] == [False, False, False, False, True]
    assert "persistence: 2 of the last 3 windows" in decisions[2].held["data_drift"]
    request = decisions[4].requests[0]
    assert (request.site, request.cause, request.cameras) == ("demo", "data_drift", ["cam1"])
    assert request.report_ids == ["demo-cam1-0", "demo-cam1-2", "demo-cam1-4"]
    assert (request.data_start, request.data_end) == (T0, T0 + 5 * WINDOW_S)
    assert request.evidence[0].metric == "share_drifted" and request.evidence[0].threshold == 0.3


def test_scattered_windows_never_persist() -> None:
    policy = _policy()
    decisions = [policy.observe(_report(index=index, drift=index % 3 == 0), _at(index)) for index in range(30)]
    assert not any(decision.publish for decision in decisions)
    assert not any(decision.persisting for decision in decisions)  # no DriftRaised alert either


def test_a_cause_persisting_is_the_cameras_alert_while_a_request_is_held() -> None:
    policy = _policy()
    pattern = [True, True, True, True, False, False, False]
    decisions = [policy.observe(_report(index=index, drift=drift), _at(index)) for index, drift in enumerate(pattern)]
    assert all(decision.assessed for decision in decisions)
    assert [decision.persisting for decision in decisions] == [[], [], ["data_drift"], ["data_drift"], [], [], []]
    assert decisions[3].held  # the open request holds a second one; the alert stays
    assert not policy.observe(_report(index=7, reference_kind="training"), _at(7)).assessed


def test_one_open_request_per_cause_then_cool_down() -> None:
    policy = _policy(defaults={"cooldown_s": 3600.0})
    requests = [request for index in range(20)
                for request in policy.observe(_report(index=index), _at(index)).requests]
    assert len(requests) == 1  # every later window is held by the open request
    held = policy.observe(_report(index=20), _at(20)).held["data_drift"]
    assert f"request {requests[0].request_id} for demo/data_drift is still open" == held
    policy.close(requests[0].request_id)
    assert "cool-down" in policy.observe(_report(index=21), _at(21)).held["data_drift"]
    later = 2 + int(3600 // WINDOW_S)  # the first request came with window 2
    again = policy.observe(_report(index=later), _at(later))
    assert again.publish and again.requests[0].request_id != requests[0].request_id


def test_causes_of_one_shift_make_one_request_per_site() -> None:
    policy = _policy(defaults={"cooldown_s": 3600.0}, max_retrains_per_day=10)
    decisions = [policy.observe(_report(index=index, prediction=True), _at(index)) for index in range(4)]
    requests = [request for decision in decisions for request in decision.requests]
    assert [request.cause for request in requests] == ["data_drift"]
    assert decisions[2].persisting == ["data_drift", "prediction_drift"]  # both show in the camera's alert
    held = decisions[2].held["prediction_drift"]
    assert held == f"request {requests[0].request_id} for demo/data_drift is still open"
    # Another site has requests of its own; once the site's request closes, a cause still persisting requests.
    north = [policy.observe(_report(index=index, site="north"), _at(index)) for index in range(3)]
    assert north[-1].publish
    policy.close(requests[0].request_id)
    again = policy.observe(_report(index=4, prediction=True), _at(4))
    assert [request.cause for request in again.requests] == ["prediction_drift"]
    assert "cool-down" in again.held["data_drift"]


def test_an_open_request_expires() -> None:
    policy = _policy(defaults={"cooldown_s": 0.0, "open_expiry_s": 600.0})
    first = [policy.observe(_report(index=index), _at(index)) for index in range(3)][-1]
    assert first.publish
    assert "still open" in policy.observe(_report(index=3), _at(3)).held["data_drift"]
    assert policy.observe(_report(index=20), _at(20)).publish


def test_daily_cap_counts_every_site_and_cause() -> None:
    policy = _policy(max_retrains_per_day=1)
    published = [policy.observe(_report(site=site, index=index), _at(index)).publish
                 for site in ("north", "south") for index in range(3)]
    assert published == [False, False, True, False, False, False]
    assert "daily cap: 1 requests" in policy.observe(_report(site="south", index=3), _at(3)).held["data_drift"]
    # A day later the cap has room again.
    assert policy.observe(_report(site="south", index=4), _at(4) + 86_400).publish


def test_one_request_covers_every_camera_of_the_site() -> None:
    policy = _policy()
    for index in range(2):
        policy.observe(_report("cam2", index), _at(index))
        policy.observe(_report("cam3", index, drift=False), _at(index))
    decision = policy.observe(_report("cam1", 0), _at(2))
    assert not decision.publish
    decision = policy.observe(_report("cam2", 2), _at(2))
    assert decision.publish and decision.requests[0].cameras == ["cam2"]
    for index in range(1, 4):
        decision = policy.observe(_report("cam1", index), _at(index + 2))
    assert "still open" in decision.held["data_drift"]


def test_camera_overrides_and_reference_kind() -> None:
    policy = _policy(cameras={"demo/lobby": {"persistence_k": 1}}, sites={"demo": {"persistence_m": 3}})
    assert policy.settings.rules("demo", "lobby") == PolicyRules(persistence_k=1, persistence_m=3)
    assert policy.settings.rules("other", "x") == PolicyRules()
    assert policy.observe(_report("lobby", 0), _at(0)).publish
    # Reports against the training profile are not what the default rules act on.
    quiet = _policy(defaults={"persistence_k": 1})
    assert not quiet.observe(_report(reference_kind="training"), _at(0)).held
    assert not quiet.observe(_report(reference_kind="training"), _at(0)).publish


@pytest.mark.parametrize("estimated, observed, labels, causes", [
    (0.80, None, 0, set()),
    (0.70, None, 0, {"estimated_accuracy_drop"}),
    (0.80, 0.60, 29, set()),  # below the minimum label count
    (0.80, 0.60, 30, {"observed_accuracy_drop"}),
])
def test_accuracy_drops(estimated: float, observed: float | None, labels: int, causes: set[str]) -> None:
    report = _report(drift=False, estimated=estimated, observed=observed, labels=labels)
    assert set(window_flags(report, PolicyRules()).evidence) == causes


@pytest.mark.parametrize("estimated, stderr, flagged", [
    (0.70, None, True),  # no standard error: the drop alone decides
    (0.70, 0.02, True),  # 0.12 - 1.645 * 0.02 = 0.087 >= 0.05
    (0.70, 0.05, False),  # 0.12 - 1.645 * 0.05 = 0.038: within what chance moves a window's estimate
    (0.60, 0.05, True),
])
def test_estimated_drop_needs_its_confidence_bound(estimated: float, stderr: float | None, flagged: bool) -> None:
    report = _report(drift=False, estimated=estimated).model_copy(update={"estimated_accuracy_stderr": stderr})
    evidence = window_flags(report, PolicyRules()).evidence
    assert ("estimated_accuracy_drop" in evidence) is flagged
    if flagged:
        assert evidence["estimated_accuracy_drop"].threshold == pytest.approx(0.05 + 1.645 * (stderr or 0.0))


@pytest.mark.parametrize("observed, labels, flagged", [
    (0.60, 60, True),  # 0.22 - 1.645 * sqrt(0.82*0.18/60 + 0.6*0.4/60) = 0.087 >= 0.05
    (0.70, 60, False),  # 0.12 - 1.645 * 0.077 = -0.007: a swing two samples of 60 labels make by chance
    (0.70, 400, False),  # many labels in the window, but the baseline's 60 still swing by 8 points
])
def test_observed_drop_counts_both_binomial_errors(observed: float, labels: int, flagged: bool) -> None:
    evidence = window_flags(_report(drift=False, observed=observed, labels=labels), PolicyRules()).evidence
    assert ("observed_accuracy_drop" in evidence) is flagged
    if flagged:
        margin = 1.645 * (0.82 * 0.18 / 60 + observed * (1 - observed) / labels) ** 0.5
        assert evidence["observed_accuracy_drop"].threshold == pytest.approx(0.05 + margin)


def test_observed_drop_is_measured_from_observed_never_from_an_estimate() -> None:
    """Run D of the demo: a camera whose baseline was estimated at 93% (overconfident) and observed at 72%
    showed 72% on its later windows: no drop, where the estimate-based rule saw 0.21 and requested a retrain."""
    report = _report(drift=False, observed=0.72, labels=76, reference_observed=0.72, reference_labels=76)
    report = report.model_copy(update={"reference_accuracy": 0.93})
    assert "observed_accuracy_drop" not in window_flags(report, PolicyRules()).evidence
    # A real drop from the same observed baseline is seen.
    dropped = report.model_copy(update={"observed_accuracy": 0.45})
    assert "observed_accuracy_drop" in window_flags(dropped, PolicyRules()).evidence


@pytest.mark.parametrize("reference_observed, reference_labels", [(None, 0), (0.9, 29)])
def test_observed_drop_needs_an_observed_reference_with_enough_labels(reference_observed: float | None,
                                                                      reference_labels: int) -> None:
    report = _report(drift=False, observed=0.3, labels=200, reference_observed=reference_observed,
                     reference_labels=reference_labels)
    assert "observed_accuracy_drop" not in window_flags(report, PolicyRules()).evidence


def test_prediction_drift_evidence_and_disabled_causes() -> None:
    report = _report(drift=False, prediction=True)
    evidence = window_flags(report, PolicyRules()).evidence["prediction_drift"]
    assert (evidence.metric, evidence.value) == ("label:chisquare", 1e-4)
    assert window_flags(report, PolicyRules(causes=["data_drift"])).evidence == {}


def test_state_survives_a_restart() -> None:
    policy = _policy()
    for index in range(3):
        policy.observe(_report(index=index), _at(index))
    restored = RetrainPolicy(policy.settings, PolicyState.model_validate_json(policy.state.model_dump_json()))
    assert "still open" in restored.observe(_report(index=3), _at(3)).held["data_drift"]


def test_a_new_model_restarts_the_persistence_windows_only() -> None:
    policy = _policy()
    for index in range(2):
        policy.observe(_report(index=index), _at(index))
    policy.restart_windows()  # the two old-model windows no longer count
    assert policy.observe(_report(index=2), _at(2)).held["data_drift"] == (
        "persistence: 1 of the last 1 windows, 3 needed")
    policy.observe(_report(index=3), _at(3))
    assert policy.observe(_report(index=4), _at(4)).publish
