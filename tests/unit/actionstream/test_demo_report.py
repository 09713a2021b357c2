from __future__ import annotations

import json
from pathlib import Path

import pytest

from actionstream.demo_report import (
    Burst,
    CameraTruth,
    Percentiles,
    TopicCounts,
    event_line,
    summarize,
    verdict_of,
)
from actionstream.event_scoring import ShiftPhases
from streams.schemas import ActionEvent, HopLatency, LabelScore, SelectedFrame

ORIGIN = 1000.0  # epoch seconds when the camera's loop started
# A 12 s loop of three 4 s clips; the action shows in one second of each.
TRUTH = CameraTruth((Burst(1.0, 2.0, "walk"), Burst(5.0, 6.0, "wave"), Burst(9.5, 10.5, "jump")), 12.0, ORIGIN)


def _event(event_id: str, camera: str, start: float, label: str, processing: float = 0.5,
           end_to_end: float = 2.0) -> ActionEvent:
    return ActionEvent(
        event_id=event_id, site="demo", camera=camera, window_start=ORIGIN + start, window_end=ORIGIN + start + 4,
        label=label, confidence=0.75, top_k=[LabelScore(label=label, confidence=0.75)],
        frames=[SelectedFrame(seq=1, capture_time=ORIGIN + start + 1, score=0.5, topic="frames.demo", partition=0,
                              offset=1)],
        candidates=32, budget=4, shed=False, incomplete=False, selector_version="s/1", model_version="m/1",
        published_at=ORIGIN + start + 4 + processing,
        latency=HopLatency(ingest=0.1, score=0.1, select=0.1, classify=0.1, processing=processing,
                           end_to_end=end_to_end),
    )


@pytest.mark.parametrize(("start", "expected"), [
    (0.0, "walk"),  # only the walk burst lies in [0, 4)
    (4.0, "wave"),
    (1.75, "wave"),  # a quarter second of walk, three quarters of wave: wave holds 3/4 >= 0.6
    (1.5, None),  # half a second of each: a tie, no clear truth
    (12.0, "walk"),  # the second pass of the loop
    (10.0, "walk"),  # wraps: half a second of jump, then a full second of walk once the loop restarts
    (9.75, None),  # wraps: three quarters of a second each of jump and walk
])
def test_the_truth_of_a_window_is_the_action_shown_most_in_it(start: float, expected: str | None) -> None:
    assert TRUTH.label_of(ORIGIN + start, ORIGIN + start + 4, min_share=0.6) == expected


def test_a_window_without_any_action_has_no_truth() -> None:
    quiet = CameraTruth((Burst(1.0, 2.0, "walk"),), 12.0, ORIGIN)
    assert quiet.label_of(ORIGIN + 3.0, ORIGIN + 7.0, min_share=0.6) is None


def test_the_truth_reads_the_timeline_the_feed_writer_leaves(tmp_path: Path) -> None:
    path = tmp_path / "cam0.timeline.json"
    path.write_text(json.dumps({"duration_s": 8.0, "segments": [
        {"start_s": 0.0, "end_s": 4.0, "label": "walk", "class_index": 0, "burst_start_s": 1.0, "burst_end_s": 2.0},
        {"start_s": 4.0, "end_s": 8.0, "label": "wave", "class_index": 1, "burst_start_s": 6.0, "burst_end_s": 7.0},
    ]}))
    truth = CameraTruth.from_timeline(path, ORIGIN)
    assert truth.duration_s == 8.0 and truth.bursts[1] == Burst(6.0, 7.0, "wave")
    assert truth.label_of(ORIGIN + 8.5, ORIGIN + 12.5, min_share=0.6) == "walk"


def test_the_summary_scores_clear_windows_and_counts_the_rest() -> None:
    events = [
        _event("a", "cam0", 0.0, "walk", processing=0.2, end_to_end=1.0),  # right
        _event("b", "cam0", 4.0, "jump", processing=0.4, end_to_end=2.0),  # wrong: wave
        _event("b", "cam0", 4.0, "jump", processing=0.4, end_to_end=2.0),  # a redelivery counts once
        _event("c", "cam0", 1.5, "walk", processing=0.6, end_to_end=3.0),  # tie: excluded
        _event("d", "cam9", 0.0, "walk", processing=0.8, end_to_end=4.0),  # unknown camera: excluded
        _event("e", "cam0", -300.0, "walk", processing=300.0, end_to_end=303.0),  # an earlier run's window
    ]
    counts = TopicCounts(frames=500, clips=5, windows=4, deadletters={"stage1": 2}, outcomes={"action": 4, "idle": 1},
                         incidents=2, incidents_ended=1, labels=3, covered={"cam0": (ORIGIN, ORIGIN + 12.0)})

    summary = summarize(events, {"cam0": TRUTH}, counts, since=ORIGIN, seconds=30.0, min_share=0.6)

    assert (summary.events, summary.scored, summary.correct, summary.unclear, summary.carried_over) == (4, 2, 1, 2, 1)
    assert summary.accuracy == 0.5
    assert summary.processing == Percentiles(500.0, pytest.approx(794.0))
    assert summary.end_to_end is not None and summary.end_to_end.p50_ms == pytest.approx(2500.0)
    lines = summary.lines()
    assert lines[0] == "cameras=1 seconds=30 frames=500 windows=4 clips=5 events=4 (and 1 of windows an earlier run " \
        "left open)"
    # Event level: walk reported (by a, 2.2 s after its end, and c), wave and jump missed; b is a wrong action.
    assert lines[1] == "recall=33.3% (1/3 true actions reported) precision=66.7% (2/3 reported actions real; " \
        "0 at the edge of an action counted apart)"
    assert lines[2] == "detection delay after the action's end p50=2.2s p99=2.2s; first event 0.2s after its " \
        "window's end"
    assert lines[3] == "per camera: cam0 recall 33% (1/3) precision 67% (2/3)"
    assert lines[4].startswith("window accuracy=50.0% (1/2 events with a clear truth; 2 windows without one excluded)")
    assert lines[5] == "latency processing p50=500ms p99=794ms; end-to-end p50=2500ms p99=3970ms"
    assert lines[6] == "outcomes=5 (action=4, idle=1) incidents=2 (ended 1) labels=3"
    assert lines[7] == "deadletters=2 (stage1=2)"
    figures = json.loads(summary.json_line())
    # No scene shift: the unshifted figures are the headline's, and nothing is split by phase.
    assert (figures["recall_unshifted"], figures["shifted_camera"]) == (figures["recall"], None)
    assert figures["per_camera"]["cam0"] == {"recall": 0.3333, "precision": 0.6667, "true_actions": 3,
                                             "reported_actions": 1, "true_events": 2, "false_events": 1}
    assert (figures["recall"], figures["precision"]) == pytest.approx((1 / 3, 2 / 3), abs=1e-4)
    assert figures["processing_p99_ms"] == pytest.approx(794.0) and figures["first_event_delay_s"] == 0.2
    assert (figures["true_actions"], figures["false_events"], figures["deadletters"]) == (3, 1, 2)


def test_an_empty_run_still_prints_a_summary() -> None:
    summary = summarize([], {"cam0": TRUTH}, TopicCounts(frames=0, clips=0, windows=0), since=ORIGIN, seconds=5.0,
                        min_share=0.6)
    assert summary.accuracy is None
    assert summary.lines()[1].startswith("recall=n/a (0/0 true actions reported) precision=n/a")
    assert summary.lines()[3] == "per camera: cam0 recall n/a (0/0) precision n/a (0/0)"
    assert summary.lines()[4].startswith("window accuracy=n/a") and "n/a" in summary.lines()[5]
    assert summary.lines()[6] == "outcomes=0 (none) incidents=0 (ended 0) labels=0"
    assert summary.lines()[7] == "deadletters=0"
    assert json.loads(summary.json_line())["processing_p99_ms"] is None


def test_a_scene_shift_splits_the_shifted_camera_by_phase_and_the_headline_keeps_every_window() -> None:
    # cam0's scene shifts at 12 s and no model is promoted: under version 1 the second loop's walk is missed and
    # its jump reported as a walk.
    events = [_event("a", "cam0", 0.0, "walk"), _event("b", "cam0", 4.0, "wave"), _event("c", "cam0", 8.0, "jump"),
              _event("d", "cam0", 16.0, "wave"), _event("e", "cam0", 20.0, "walk")]
    counts = TopicCounts(frames=500, clips=4, windows=4, covered={"cam0": (ORIGIN, ORIGIN + 24.0)})

    summary = summarize(events, {"cam0": TRUTH}, counts, since=ORIGIN, seconds=30.0, min_share=0.6,
                        shift=ShiftPhases("cam0", ORIGIN + 12.0, "1"))

    lines = summary.lines()
    assert lines[1].startswith("recall=66.7% (4/6 true actions reported) precision=80.0% (4/5")
    assert lines[4] == "cam0 per phase: before the shift recall 100% (3/3) precision 100% (3/3); shifted, version 1 " \
        "recall 33% (1/3) precision 50% (1/2)"
    assert lines[5] == "without cam0's shifted windows: recall 100% (3/3) precision 100% (3/3)"
    figures = json.loads(summary.json_line())
    assert (figures["recall"], figures["recall_unshifted"], figures["precision_unshifted"]) == (0.6667, 1.0, 1.0)
    assert figures["shifted_camera"]["camera"] == "cam0" and figures["shifted_camera"]["new_version"] is None
    assert figures["shifted_camera"]["shifted_old_model"]["reported_actions"] == 1
    assert "after_promotion" not in figures["shifted_camera"] and figures["other_cameras"] is None


def test_the_summary_shows_what_the_promotion_did_to_the_other_cameras() -> None:
    # cam1 shows cam0's script; both switch to version 2 at 12 s, which names cam1's second jump a wave.
    events = [_event("a", "cam1", 0.0, "walk"), _event("b", "cam1", 4.0, "wave"), _event("c", "cam1", 8.0, "jump"),
              _event("d", "cam1", 12.0, "walk"), _event("e", "cam1", 16.0, "wave"), _event("f", "cam1", 20.0, "wave")]
    counts = TopicCounts(frames=500, clips=4, windows=4, covered={"cam0": (ORIGIN, ORIGIN + 24.0),
                                                                  "cam1": (ORIGIN, ORIGIN + 24.0)})
    shift = ShiftPhases("cam0", ORIGIN + 12.0, "1", "2", ORIGIN + 12.0, (ORIGIN + 12.0, ORIGIN + 12.0))

    summary = summarize(events, {"cam0": TRUTH, "cam1": TRUTH}, counts, since=ORIGIN, seconds=30.0, min_share=0.6,
                        shift=shift)

    assert summary.lines()[6] == ("the other cameras: version 1 recall 100% (3/3) precision 100% (3/3); version 2 "
                                  "(promoted) recall 67% (2/3) precision 67% (2/3)")
    others = json.loads(summary.json_line())["other_cameras"]
    assert others["after_promotion"]["false_events"] == 1 and others["before_promotion"]["recall"] == 1.0


def test_an_event_line_names_camera_window_label_confidence_and_verdict() -> None:
    truths = {"cam0": TRUTH}

    def line(start: float, label: str) -> str:
        event = _event("a", "cam0", start, label)
        return event_line(event, verdict_of(event, truths, since=ORIGIN, min_share=0.6))

    assert "cam0" in line(0.0, "walk") and "+4s walk" in line(0.0, "walk") and "0.75" in line(0.0, "walk")
    assert line(0.0, "walk").endswith("[ok]  processing 500 ms, end-to-end 2000 ms")
    assert "[truth walk]" in line(0.0, "wave")
    assert "[no clear truth]" in line(1.5, "walk")
    assert "[window of an earlier run]" in line(-300.0, "walk")


def test_an_event_line_says_when_the_event_came_before_its_window_ends() -> None:
    # The window closed with its last slot's frame, up to a sampling interval before its nominal end.
    event = _event("a", "cam0", 0.0, "walk", processing=-0.009)
    line = event_line(event, verdict_of(event, {"cam0": TRUTH}, since=ORIGIN, min_share=0.6))
    assert line.endswith("[ok]  9 ms before the window's end, end-to-end 2000 ms")


def test_an_event_published_before_its_window_ends_is_said_to_come_before_it() -> None:
    # The window closed with its last slot's frame, 40 ms before its nominal end.
    events = [_event("a", "cam0", 0.0, "walk", processing=-0.04)]
    counts = TopicCounts(frames=40, clips=1, windows=1, deadletters={}, outcomes={"action": 1}, incidents=1,
                         incidents_ended=0, labels=0, covered={"cam0": (ORIGIN, ORIGIN + 4.0)})

    lines = summarize(events, {"cam0": TRUTH}, counts, since=ORIGIN, seconds=10.0, min_share=0.6).lines()

    assert lines[2].endswith("; first event 0.04s before its window's end")
