"""The demo's loop lines and figures: a line per verdict change (not per window), the candidate's evaluation
and the decision with its reasons, the drifted camera's accuracy per phase, and the loop's process settings."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from actionstream.demo_loop import LoopSettings, ProducedOrder
from actionstream.demo_loop_report import LoopState, camera_accuracy, report_file_lines, status_lines
from actionstream.demo_report import Burst, CameraTruth
from processors.archive.settings import ArchiveSettings
from processors.drift.job_settings import DriftJobSettings
from processors.retrain.guard import GuardSettings
from processors.retrain.settings import RetrainSettings
from streams.schemas import (
    DriftReport,
    HopLatency,
    LabelScore,
    ModelComparison,
    ModelUpdate,
    RetrainData,
    RetrainRequest,
    RetrainResult,
    RetrainTimings,
    WindowOutcome,
)

ORIGIN = 1000.0
# A 4 s loop: the action "walk" fills each window that starts on a multiple of 4 s.
TRUTH = CameraTruth((Burst(0.0, 4.0, "walk"),), 4.0, ORIGIN)


def _report(camera: str, verdict: str, start: float, reference_kind: str = "camera",
            alert: list[str] | None = None) -> DriftReport:
    return DriftReport(
        report_id=f"{camera}-{start}", site="demo", camera=camera, reference="baseline", reference_kind=reference_kind,
        window_start=start, window_end=start + 20, frames=160, outcomes=10, scores=[], drifted_columns=["brightness"],
        share_drifted=0.33, embedding_mmd2=0.2, embedding_p_value=0.001, estimated_accuracy=0.4,
        reference_accuracy=0.9, observed_accuracy=None, observed_macro_f1=None, labels=0,
        causes=["data_drift"] if verdict == "drift" else [], verdict=verdict, model_version="1",
        alert_causes=alert if reference_kind == "camera" else None)


def _outcome(start: float, label: str, version: str, camera: str = "cam0") -> WindowOutcome:
    return WindowOutcome(
        event_id=f"{camera}-{start}-{version}", site="demo", camera=camera, window_start=ORIGIN + start,
        window_end=ORIGIN + start + 4, label=label, confidence=0.8, top_k=[LabelScore(label=label, confidence=0.8)],
        frames=[], candidates=32, budget=4, shed=False, incomplete=False, selector_version="1",
        model_version=f"actionstream-smart/{version}",  # as the classifier names it
        published_at=ORIGIN + start + 5, latency=HopLatency(ingest=0.1, score=0.1, select=0.1, classify=0.1,
                                                            processing=0.5, end_to_end=1.0),
        outcome="action")


def test_a_camera_prints_a_line_when_its_verdict_or_alert_changes_not_every_window() -> None:
    state = LoopState()
    # The policy's verdict as the drift job puts it in the reports: data drift persists from the fourth window.
    alerts: list[list[str]] = [[], [], [], ["data_drift"], ["data_drift"], []]
    lines = [state.on_report(_report("cam0", verdict, 20.0 * index, alert=alert))
             for index, (verdict, alert) in enumerate(zip(["ok", "ok", "drift", "drift", "drift", "ok"], alerts,
                                                          strict=True))]
    assert [line is not None for line in lines] == [True, False, True, True, False, True]
    assert lines[2] is not None and lines[2].startswith("drift status cam0 drift")  # one window is no alert
    assert lines[3] is not None and lines[3].startswith("DRIFT ALERT  cam0 drift")
    assert "reference): persisting data_drift; causes data_drift" in lines[3]
    assert "causes data_drift" in lines[3] and "estimated accuracy 40% (reference 90%)" in lines[3]
    # An accuracy drop persists while the window's drift families are quiet (demo run D's cam2): the demo shows
    # the alert that fired DriftRaised, because both read the report's alert_causes.
    quiet_drop = state.on_report(_report("cam2", "ok", 0.0, alert=["observed_accuracy_drop"]))
    assert quiet_drop is not None and quiet_drop.startswith("DRIFT ALERT  cam2 ok")
    assert "persisting observed_accuracy_drop; causes none" in quiet_drop
    assert state.on_report(_report("cam3", "drift", 0.0, alert=None)) is not None  # a v1 report: no alert
    assert not state.alerting["cam3"]
    assert state.on_report(_report("cam1", "drift", 0.0, reference_kind="training")) is None  # not the policy's
    assert status_lines(state, ["cam0", "cam1"]) == ["drift status cam0: ok (6 reports)",
                                                     "drift status cam1: no report (0 reports)"]


def _result(outcome: str, reasons: list[str]) -> RetrainResult:
    comparison = ModelComparison(examples=12, candidate_accuracy=0.75, production_accuracy=0.25, gain=0.5,
                                 candidate_only=6, production_only=0, p_value=0.0156)
    return RetrainResult(
        request_id="0123456789", site="demo", outcome=outcome, reasons=reasons, new_data=comparison,
        base_test=None, candidate_version="2", production_version="1",
        data=RetrainData(base="var/data/synthetic", labelled="x", train_videos=60, labelled_videos=27,
                         held_out_labelled=12, held_out_base=15),
        timings=RetrainTimings(data_s=3.0, training_s=50.0, evaluation_s=10.0, total_s=63.0), attempt=1)


def test_a_result_prints_the_evaluation_and_the_decision_with_its_reasons() -> None:
    state = LoopState()
    lines = state.on_result(_result("refused", ["forgetting: base test dropped 5 points"]))
    assert lines[0].startswith("CANDIDATE     request 01234567: version 2 trained on 60 videos")
    assert "new data: candidate 75% vs production 25% on 12 (gain +50%" in lines[1]
    assert "McNemar p=0.0156" in lines[1] and "base test: not evaluated" in lines[2]
    assert lines[3] == "REFUSED       version 2 (production was 1): forgetting: base test dropped 5 points"
    assert not state.finished("cam0")  # a result of no request of cam0's
    request = RetrainRequest(request_id="0123456789", site="demo", cause="data_drift", reason="brightness",
                             evidence=[], report_ids=[], cameras=["cam0"], data_start=0.0, data_end=60.0,
                             model_version="1")
    assert state.on_request(request).startswith("RETRAIN REQUEST 01234567 cause data_drift, cameras cam0")
    assert state.finished("cam0") and not state.finished("cam1")
    state.on_request(request.model_copy(update={"request_id": "9876543210", "cause": "estimated_accuracy_drop"}))
    assert not state.finished("cam0")  # the second cause's request may still promote
    assert state.promoted_version() is None


def test_a_result_with_replayed_windows_prints_the_other_cameras_comparison() -> None:
    result = _result("promoted", ["gain on new data +0.500"])
    data = result.data.model_copy(update={"replay_videos": 48, "held_out_replay": 24}) if result.data else None
    lines = LoopState().on_result(result.model_copy(update={"data": data, "other_cameras": result.new_data}))
    assert "12 held out; 48 of the other cameras replayed, 24 held out) in 50 s" in lines[0]
    assert lines[3].strip().startswith("other cameras: candidate 75% vs production 25% on 12")
    assert lines[4].startswith("PROMOTED")


def test_a_promotion_names_the_version_serving_switches_to() -> None:
    state = LoopState()
    state.on_result(_result("promoted", ["better on the new data"]))
    assert state.finished("cam0")
    line = state.on_update(ModelUpdate(model="m", alias="production", version="2"), seen_at=5.0)
    assert state.promoted_version() == "2" and "version 2 is now @production" in line


def test_windows_after_a_promotion_are_counted_per_camera_for_the_promoted_version_only() -> None:
    state = LoopState()
    state.on_outcome(_outcome(0.0, "walk", "2"))  # classified by version 2 before it is known as promoted
    assert state.windows_after_promotion("cam0") == 0
    state.on_result(_result("promoted", ["better on the new data"]))  # promotes version 2
    for start, version, camera in [(4.0, "2", "cam0"), (8.0, "1", "cam0"), (12.0, "2", "cam1")]:
        state.on_outcome(_outcome(start, "walk", version, camera=camera))
    assert state.windows_after_promotion("cam0") == 2 and state.windows_after_promotion("cam1") == 1


def test_the_drifted_cameras_accuracy_is_split_at_the_shift_and_by_model_version() -> None:
    shift_at = ORIGIN + 40.0
    outcomes = [
        _outcome(0.0, "walk", "1"), _outcome(4.0, "walk", "1"),  # before the shift: 2/2
        _outcome(38.0, "wave", "1"),  # straddles the shift: left out
        _outcome(40.0, "wave", "1"), _outcome(44.0, "walk", "1"), _outcome(48.0, "wave", "1"),  # shifted: 1/3
        _outcome(52.0, "walk", "2"), _outcome(56.0, "walk", "2"),  # promoted: 2/2
        _outcome(60.0, "walk", "2", camera="cam1"),  # another camera
    ]
    phases = camera_accuracy(outcomes, "cam0", TRUTH, shift_at, "1", "2", min_share=0.6)
    assert [(phase.name, phase.correct, phase.scored) for phase in phases] == [
        ("before the shift", 2, 2), ("shifted, version 1", 1, 3), ("shifted, version 2 (promoted)", 2, 2)]
    assert str(phases[1]) == "shifted, version 1 33% (1/3)"


def test_the_loop_settings_reach_the_processes_through_their_settings_roots(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = LoopSettings()
    for name, value in loop.process_env().items():
        monkeypatch.setenv(name, value)
    drift = DriftJobSettings()
    assert drift.drift.window_s == loop.drift_window_s and drift.job.state_dir == loop.state_dir
    assert drift.policy.defaults.persistence_k == loop.persistence_k
    assert ArchiveSettings().archive.test_block_s == loop.test_block_s
    retrain = RetrainSettings()
    assert retrain.promotion.min_new_examples == loop.min_new_examples
    assert retrain.retrain.labelled_since == "evidence"
    assert retrain.retrain.base_check == loop.base_check_dir
    assert GuardSettings().guard.state_dir == loop.guard_state_dir


def test_the_scene_switches_at_a_loop_of_the_feed_after_the_baseline_near_a_drift_window_start() -> None:
    loop = LoopSettings(drift_window_s=60.0, baseline_windows=2, partial_window_s=30.0)
    # Cameras up at 1030: 50 s of the window 1020-1080 left, it counts: the baseline ends at 1140 at the latest;
    # a 40 s feed published since 1000 loops at 1160.
    assert loop.baseline_end(cameras_started=1030.0) == 1140.0
    assert loop.switch_time(origin=1000.0, feed_s=40.0, cameras_started=1030.0) == 1160.0
    # Its loop at 1170 lies 30 s into the window 1140-1200: the next, 10 s into 1200-1260, shows the first
    # drifted window mostly the new scene.
    assert loop.switch_time(origin=1010.0, feed_s=40.0, cameras_started=1030.0) == 1210.0
    # No boundary close enough to a window start: the least far of those tried.
    assert LoopSettings(switch_lead_s=5.0, max_switch_loops=2).switch_time(
        origin=1010.0, feed_s=40.0, cameras_started=1030.0) == 1210.0
    # Up at 1060: 20 s left of that window, too little to be sure of its outcomes: two whole windows from 1080.
    assert loop.baseline_end(cameras_started=1060.0) == 1200.0
    assert loop.switch_time(origin=1000.0, feed_s=40.0, cameras_started=1080.0) == 1200.0  # on a boundary


def test_a_resized_shift_gets_its_own_recording() -> None:
    default = LoopSettings()
    assert default.feed_tag().startswith("brightness-noise-")
    darker = LoopSettings(sizes=default.sizes.model_copy(update={"brightness_gain": 0.2}))
    assert darker.feed_tag() != default.feed_tag() and LoopSettings().feed_tag() == default.feed_tag()


def _drain(order: ProducedOrder[str], cutoff: float, waits: Callable[[str], bool] = lambda _item: False) -> list[str]:
    released = []
    while (item := order.next_ready(cutoff, waits)) is not None:
        released.append(item)
    return released


def test_the_loops_steps_are_released_in_the_order_they_were_produced_once_the_cutoff_passes_them() -> None:
    order: ProducedOrder[str] = ProducedOrder()
    order.add(10.5, "request")  # its reader fetched it first
    order.add(10.0, "report")
    order.add(12.0, "result")
    order.add(10.5, "second request")  # a tie keeps its arrival order
    assert _drain(order, 9.0) == []
    assert _drain(order, 11.0) == ["report", "request", "second request"]
    assert _drain(order, 11.5) == []  # released once
    assert _drain(order, math.inf) == ["result"]


def test_a_tie_in_production_time_goes_by_rank_before_arrival() -> None:
    order: ProducedOrder[str] = ProducedOrder()
    order.add(10.0, "request", rank=1)  # fetched first, produced in the same millisecond as its report
    order.add(10.0, "report", rank=0)
    assert _drain(order, 20.0) == ["report", "request"]


def test_a_step_that_waits_holds_every_later_step_behind_it_until_it_is_ready() -> None:
    order: ProducedOrder[str] = ProducedOrder()
    order.add(10.0, "report")
    order.add(10.5, "request")  # its cause is not fetched yet
    order.add(11.0, "result")
    assert _drain(order, 20.0, waits=lambda item: item == "request") == ["report"]
    assert _drain(order, 20.0) == ["request", "result"]


def test_the_runs_html_reports_print_in_a_line_per_camera_and_reference() -> None:
    parts = ("data", "embeddings")
    names = [f"demo_cam0_camera_{start}-{part}.html" for start in (1200, 1260) for part in parts]
    names += [f"demo_cam2_training_{start}-{part}.html" for start in (1080, 1140, 1200) for part in parts]
    names += ["demo_training_1080-data.html", "demo_training_1080-embeddings.html", "notes.html"]
    lines = report_file_lines([Path("var/reports") / name for name in names], site="demo", cameras=["cam0", "cam2"])
    clock = {start: time.strftime("%H:%M:%S", time.localtime(start)) for start in (1080, 1200, 1260)}
    assert lines == [
        "drift reports: 13 HTML files in var/reports/, written when a window's verdict changed",
        f"  cam0 against its own baseline: {clock[1200]} demo_cam0_camera_1200-{{data,embeddings}}.html; "
        f"{clock[1260]} demo_cam0_camera_1260-{{data,embeddings}}.html",
        f"  cam2 against the training profile: 3 windows, newest {clock[1200]} "
        "demo_cam2_training_1200-{data,embeddings}.html",
        f"  the site against the training profile: {clock[1080]} demo_training_1080-{{data,embeddings}}.html",
    ]
    assert report_file_lines([], site="demo", cameras=["cam0"]) == ["drift reports: none written in this run"]
