"""Drift window bookkeeping with explicit event and wall times."""

from __future__ import annotations

from processors.drift.windows import SITE_CAMERA, ClosedWindow, DriftWindows
from tests.support.features import make_outcome, make_scored_frame

FRAMES, OUTCOMES = ("scored-frames", 0), ("outcomes", 0)


def windows() -> DriftWindows:
    return DriftWindows(window_s=10.0, lateness_s=2.0, idle_close_s=60.0)


def add_outcome(state: DriftWindows, camera: str, start: float, offset: int, now: float = 0.0) -> bool:
    return state.add_outcome(make_outcome("s", camera, start, window_s=4.0), OUTCOMES, offset, now)


def cameras(closed: list[ClosedWindow]) -> list[str]:
    return [window.camera for window in closed]


def test_a_window_closes_once_frames_pass_its_end_and_an_outcome_starts_after_it() -> None:
    state = windows()
    for offset, capture in enumerate([100.0, 104.0, 109.5, 111.0]):
        assert state.add_frame(make_scored_frame("s", "a", capture), FRAMES, offset, now=0.0)
    add_outcome(state, "a", 100.0, 0)
    add_outcome(state, "a", 104.0, 1)
    assert state.due(now=1.0) == []  # frames at 111 < 110 + 2
    state.add_frame(make_scored_frame("s", "a", 112.0), FRAMES, 4, now=1.0)
    assert state.due(now=1.0) == []  # outcomes may still come for windows starting before 110
    add_outcome(state, "a", 110.0, 2)
    closed = [window for window in state.due(now=1.0) if window.camera == "a"]
    assert [(window.start, len(window.frames), len(window.outcomes)) for window in closed] == [(100.0, 3, 2)]
    assert closed[0].model_version == "m/1" and closed[0].held == {FRAMES: 0, OUTCOMES: 0}
    assert all(frame.jpeg == b"" for frame in closed[0].frames)
    # A frame of the reported window is late; the open window [110, 120) is untouched.
    assert not state.add_frame(make_scored_frame("s", "a", 108.0), FRAMES, 5, now=1.0)
    assert state.open_windows == 1


def test_without_outcomes_a_window_waits_for_the_idle_time_of_the_outcome_stream() -> None:
    state = windows()
    state.add_frame(make_scored_frame("s", "a", 101.0), FRAMES, 0, now=0.0)
    state.add_frame(make_scored_frame("s", "a", 113.0), FRAMES, 1, now=30.0)
    assert state.due(now=59.0) == []
    assert cameras(state.due(now=60.0)) == ["a", SITE_CAMERA]  # [110, 120) waits for frames (seen at 30)
    assert cameras(state.due(now=90.0)) == ["a", SITE_CAMERA]


def test_held_offsets_are_the_lowest_per_partition_of_open_windows_only() -> None:
    state = windows()
    state.add_frame(make_scored_frame("s", "a", 101.0), FRAMES, 10, now=0.0)
    state.add_frame(make_scored_frame("s", "b", 102.0), FRAMES, 5, now=0.0)
    state.add_frame(make_scored_frame("s", "a", 113.0), FRAMES, 20, now=0.0)
    add_outcome(state, "a", 112.0, 3)
    assert state.held() == {FRAMES: 5, OUTCOMES: 3}
    assert cameras(state.due(now=0.0)) == ["a"]  # b's window stays open
    assert state.held() == {FRAMES: 5, OUTCOMES: 3}
    state.add_frame(make_scored_frame("s", "b", 115.0), FRAMES, 30, now=0.0)
    add_outcome(state, "b", 112.0, 4)
    assert cameras(state.due(now=0.0)) == ["b", SITE_CAMERA]
    assert state.held() == {FRAMES: 20, OUTCOMES: 3}


def test_a_site_window_closes_when_every_camera_that_opened_it_closed_it() -> None:
    state = windows()
    state.add_frame(make_scored_frame("s", "a", 101.0), FRAMES, 0, now=0.0)
    state.add_frame(make_scored_frame("s", "b", 103.0), FRAMES, 1, now=0.0)
    state.add_frame(make_scored_frame("s", "a", 113.0), FRAMES, 2, now=0.0)
    add_outcome(state, "a", 112.0, 0)
    assert cameras(state.due(now=0.0)) == ["a"]
    state.add_frame(make_scored_frame("s", "b", 112.5), FRAMES, 3, now=0.0)
    add_outcome(state, "b", 112.0, 1)
    closed = state.due(now=0.0)
    assert cameras(closed) == ["b", SITE_CAMERA]
    site = closed[1]
    assert (site.site, site.start, site.end, len(site.frames)) == ("s", 100.0, 110.0, 2)


def test_restore_forgets_open_windows_but_not_what_was_reported() -> None:
    state = windows()
    state.add_frame(make_scored_frame("s", "a", 101.0), FRAMES, 0, now=0.0)
    state.add_frame(make_scored_frame("s", "a", 113.0), FRAMES, 1, now=0.0)
    add_outcome(state, "a", 112.0, 0)
    state.due(now=0.0)
    saved = state.closed_until()
    assert saved == {"s/a": 110.0}
    restarted = windows()
    restarted.restore(saved)
    assert restarted.open_windows == 0
    assert not restarted.add_frame(make_scored_frame("s", "a", 105.0), FRAMES, 0, now=0.0)  # read again: reported
    assert restarted.add_frame(make_scored_frame("s", "a", 113.0), FRAMES, 1, now=0.0)


def test_outcomes_read_before_the_frames_do_not_close_the_window_without_them() -> None:
    state = windows()
    for offset, start in enumerate([100.0, 104.0, 108.0, 112.0]):
        add_outcome(state, "a", start, offset, now=0.0)
    assert state.due(now=1.0) == []  # the frames topic has not been read yet
    state.add_frame(make_scored_frame("s", "a", 101.0), FRAMES, 0, now=1.0)
    state.add_frame(make_scored_frame("s", "a", 112.0), FRAMES, 1, now=1.0)
    closed = state.due(now=1.0)
    assert cameras(closed) == ["a", SITE_CAMERA] and len(closed[0].frames) == 1 and len(closed[0].outcomes) == 3


def test_a_window_names_every_model_version_that_served_it() -> None:
    window = ClosedWindow("s", "a", 0.0, 60.0, frames=[make_scored_frame("s", "a", 1.0, model_version="m/1"),
                                                        make_scored_frame("s", "a", 50.0, model_version="m/2")],
                          outcomes=[make_outcome("s", "a", 48.0).model_copy(update={"model_version": "m/2"})])
    assert window.model_versions == {"m/1", "m/2"} and window.model_version == "m/2"
