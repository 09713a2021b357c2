"""Event-level scoring: recall over true actions, precision over reported ones, edge windows apart, delays."""

from __future__ import annotations

import pytest

from actionstream.demo_report import Burst, CameraTruth
from actionstream.event_scoring import (
    ShiftPhases,
    TrueAction,
    breakdown,
    covered_actions,
    promoted_at,
    score_events,
    true_actions,
    verdict,
)
from streams.schemas import ActionEvent, HopLatency, LabelScore, SelectedFrame, WindowOutcome

ORIGIN = 1000.0
# A 12 s loop: walk at 1-2 s, an idle clip 4-8 s (empty burst, as the feed writer leaves it), wave at 9-10 s.
TRUTH = CameraTruth((Burst(1.0, 2.0, "walk"), Burst(4.0, 4.0, "idle"), Burst(9.0, 10.0, "wave")), 12.0, ORIGIN)
MIN_OVERLAP_S = 0.25


def _event(start: float, label: str, camera: str = "cam0", processing: float = 0.5) -> ActionEvent:
    return ActionEvent(
        event_id=f"{camera}-{start}", site="demo", camera=camera, window_start=ORIGIN + start,
        window_end=ORIGIN + start + 4, label=label, confidence=0.8, top_k=[LabelScore(label=label, confidence=0.8)],
        frames=[SelectedFrame(seq=1, capture_time=ORIGIN + start + 1, score=0.5, topic="frames.demo", partition=0,
                              offset=1)],
        candidates=32, budget=4, shed=False, incomplete=False, selector_version="s/1", model_version="m/1",
        published_at=ORIGIN + start + 4 + processing,
        latency=HopLatency(ingest=0.1, score=0.1, select=0.1, classify=0.1, processing=processing, end_to_end=1.0),
    )


def test_true_actions_are_the_whole_bursts_inside_the_span_over_loops_without_idle_clips() -> None:
    actions = true_actions("cam0", TRUTH, ORIGIN + 0.5, ORIGIN + 22.0)

    assert [(action.label, action.start - ORIGIN, action.end - ORIGIN) for action in actions] == [
        ("walk", 1.0, 2.0), ("wave", 9.0, 10.0), ("walk", 13.0, 14.0), ("wave", 21.0, 22.0)]
    # A burst cut by the span's edge could not be seen whole: left out.
    assert true_actions("cam0", TRUTH, ORIGIN + 1.5, ORIGIN + 9.5) == []


@pytest.mark.parametrize(("start", "label", "expected"), [
    (0.0, "walk", "true"),  # the whole walk burst lies in the window
    (0.0, "wave", "false"),  # a clear action, the wrong label
    (4.0, "walk", "false"),  # the idle clip only: an action reported where none happened
    (1.8, "walk", "unclear"),  # 0.2 s of walk at the window's start, nothing else: no clear truth
    (5.2, "wave", "unclear"),  # 0.2 s of wave at its end
    (5.5, "wave", "true"),  # 0.5 s of wave
])
def test_an_event_is_true_false_or_unclear(start: float, label: str, expected: str) -> None:
    actions = true_actions("cam0", TRUTH, ORIGIN, ORIGIN + 12.0)
    assert verdict(_event(start, label), actions, MIN_OVERLAP_S) == expected


def test_an_event_of_another_camera_never_matches() -> None:
    actions = [TrueAction("cam1", "walk", ORIGIN + 1.0, ORIGIN + 2.0)]
    assert verdict(_event(0.0, "walk"), actions, MIN_OVERLAP_S) == "false"


def test_recall_precision_and_delays() -> None:
    actions = true_actions("cam0", TRUTH, ORIGIN, ORIGIN + 24.0)  # walk, wave, walk, wave
    events = [
        _event(0.0, "walk", processing=0.3),  # reports the first walk: published 4.3 s, 2.3 s after its end
        _event(2.0, "walk"),  # a second window on the same walk? no: 2-6 s holds none of it -> false
        _event(8.0, "wave"),  # the first wave, published at 12.5 s: 2.5 s after its end
        _event(6.0, "wave", processing=0.1),  # also the first wave, earlier: 10.1 s -> 0.1 s after its end
        _event(13.9, "walk"),  # 0.1 s of the second walk: unclear, and no report of it
        _event(20.0, "jump"),  # the second wave with the wrong label
    ]
    score = score_events(events, actions, MIN_OVERLAP_S)

    assert (score.actions, score.reported) == (4, 2)
    assert score.recall == 0.5
    assert (score.true_events, score.false_events, score.unclear_events) == (3, 2, 1)
    assert score.precision == pytest.approx(3 / 5)
    assert score.detection_delays_s == pytest.approx((2.3, 0.1))
    assert score.first_event_delay_s == pytest.approx(0.3)  # the first published event: processing time
    assert score.delay_percentiles_s() == pytest.approx((1.2, 0.1 + 2.2 * 0.99))


def test_no_actions_and_no_events_score_none_not_zero() -> None:
    score = score_events([], [], MIN_OVERLAP_S)
    assert score.recall is None and score.precision is None
    assert score.first_event_delay_s is None and score.delay_percentiles_s() is None


def test_covered_actions_follow_each_cameras_span() -> None:
    truths = {"cam0": TRUTH, "cam1": CameraTruth((Burst(0.5, 1.5, "jump"),), 4.0, ORIGIN)}
    actions = covered_actions(truths, {"cam0": (ORIGIN, ORIGIN + 12.0), "cam1": (ORIGIN + 4.0, ORIGIN + 8.0),
                                       "cam9": (ORIGIN, ORIGIN + 99.0)})

    assert [(action.camera, action.label, action.start - ORIGIN) for action in actions] == [
        ("cam0", "walk", 1.0), ("cam0", "wave", 9.0), ("cam1", "jump", 4.5)]


def _figures(score: object) -> tuple[int, ...]:
    return tuple(getattr(score, name) for name in ("actions", "reported", "true_events", "false_events"))


def test_the_split_per_camera_and_per_phase_of_the_shifted_camera() -> None:
    # cam0: three loops (walk at 1, 13, 25 s; wave at 9, 21, 33 s); its scene shifts at 12 s, the promoted model
    # takes over at 24 s. cam1: one jump, reported.
    cam1 = CameraTruth((Burst(0.5, 1.5, "jump"),), 4.0, ORIGIN)
    actions = true_actions("cam0", TRUTH, ORIGIN, ORIGIN + 36.0) + true_actions("cam1", cam1, ORIGIN, ORIGIN + 4.0)
    events = [
        _event(0.0, "walk"),  # before the shift: the first walk
        _event(8.5, "wave"),  # straddles the shift: reports the first wave, but is in no phase's precision
        _event(12.0, "walk"),  # shifted, old model: the second walk
        _event(20.0, "jump"),  # shifted, old model: the second wave, wrong label (a miss and a false event)
        _event(24.0, "walk"), _event(30.0, "wave"),  # promoted: both
        _event(0.0, "jump", camera="cam1"),
    ]
    shift = ShiftPhases("cam0", ORIGIN + 12.0, "1", "2", ORIGIN + 24.0)

    split = breakdown(events, actions, MIN_OVERLAP_S, ["cam0", "cam1"], shift)

    assert {camera: _figures(score) for camera, score in split.per_camera.items()} == {
        "cam0": (6, 5, 5, 1), "cam1": (1, 1, 1, 0)}
    assert {phase: _figures(score) for phase, score in split.phases.items()} == {
        "before_shift": (2, 2, 1, 0), "shifted_old_model": (2, 1, 1, 1), "after_promotion": (2, 2, 2, 0)}
    # Every camera without cam0's shifted windows: cam1 and cam0 before the shift.
    assert _figures(split.unshifted) == (3, 3, 2, 0) and split.unshifted.recall == 1.0
    assert [shift.phase_name(phase) for phase in split.phases] == [
        "before the shift", "shifted, version 1", "shifted, version 2 (promoted)"]


def test_without_a_promotion_the_shifted_phase_runs_to_the_end_and_without_a_shift_nothing_is_split() -> None:
    actions = true_actions("cam0", TRUTH, ORIGIN, ORIGIN + 24.0)
    events = [_event(0.0, "walk"), _event(12.0, "walk")]

    phases = breakdown(events, actions, MIN_OVERLAP_S, ["cam0"], ShiftPhases("cam0", ORIGIN + 12.0, "1")).phases
    assert {phase: _figures(score) for phase, score in phases.items()} == {
        "before_shift": (2, 1, 1, 0), "shifted_old_model": (2, 1, 1, 0)}
    unsplit = breakdown(events, actions, MIN_OVERLAP_S, ["cam0"], None)
    assert unsplit.phases == {} and _figures(unsplit.unshifted) == (4, 2, 2, 0)


def _outcome(start: float, model_version: str, camera: str = "cam0") -> WindowOutcome:
    event = _event(start, "walk", camera=camera).model_dump(by_alias=True)
    return WindowOutcome.model_validate({**event, "model_version": model_version, "outcome": "idle"})


def test_the_promoted_model_takes_over_at_its_first_window_of_the_camera() -> None:
    outcomes = [_outcome(0.0, "demo/1"), _outcome(4.0, "demo/2", camera="cam1"), _outcome(8.0, "demo/2"),
                _outcome(6.0, "demo/1"), _outcome(10.0, "demo/2")]

    assert promoted_at(outcomes, "cam0", "2") == ORIGIN + 8.0
    assert promoted_at(outcomes, "cam0", None) is None and promoted_at(outcomes, "cam0", "3") is None


def test_the_other_cameras_are_split_at_their_switch_to_the_promoted_model() -> None:
    # cam1 and cam2 loop a jump (0.5-1.5 s of every 4 s); they switch to version 2 at 22 s and 26 s.
    loop = CameraTruth((Burst(0.5, 1.5, "jump"),), 4.0, ORIGIN)
    actions = (true_actions("cam0", TRUTH, ORIGIN, ORIGIN + 12.0) + true_actions("cam1", loop, ORIGIN, ORIGIN + 4.0)
               + true_actions("cam1", loop, ORIGIN + 28.0, ORIGIN + 32.0)
               + true_actions("cam2", loop, ORIGIN + 24.0, ORIGIN + 32.0))
    events = [_event(0.0, "walk"), _event(0.0, "jump", camera="cam1"),
              _event(24.0, "jump", camera="cam2"),  # between the two switches: in neither phase
              _event(28.0, "wave", camera="cam1"),  # promoted: a miss and a false event
              _event(28.0, "jump", camera="cam2")]
    shift = ShiftPhases("cam0", ORIGIN + 12.0, "1", "2", ORIGIN + 24.0, (ORIGIN + 22.0, ORIGIN + 26.0))

    split = breakdown(events, actions, MIN_OVERLAP_S, ["cam0", "cam1", "cam2"], shift)

    assert {phase: _figures(score) for phase, score in split.others.items()} == {
        "before_promotion": (1, 1, 1, 0), "after_promotion": (2, 1, 1, 1)}
    assert [shift.others_phase_name(phase) for phase in split.others] == ["version 1", "version 2 (promoted)"]
    assert breakdown(events, actions, MIN_OVERLAP_S, ["cam0", "cam1"], ShiftPhases("cam0", ORIGIN + 12.0, "1")
                     ).others == {}
