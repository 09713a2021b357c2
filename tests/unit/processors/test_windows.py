"""Event-time hopping windows per camera: which windows close, with which frames, and what is late."""

from __future__ import annotations

from processors.selector.windows import CameraWindows
from processors.settings import SheddingSettings, Stage2Settings
from processors.shedding import frames_to_keep, top_by_score

SETTINGS = Stage2Settings(window_s=4.0, hop_s=2.0, sample_fps=8.0, allowed_lateness_s=0.0)


def feed(state: CameraWindows, seqs: range | list[int], settings: Stage2Settings = SETTINGS) -> list:
    closed = []
    for seq in seqs:
        state.add(seq, seq / settings.sample_fps, settings)
        windows, _ = state.close_ready(settings)
        closed += windows
    return closed


def test_windows_hop_on_the_grid_and_hold_w_seconds_of_frames() -> None:
    closed = feed(CameraWindows(), range(80, 80 + 8 * 12))  # 10 s .. 22 s
    assert [window.start for window in closed] == [8.0, 10.0, 12.0, 14.0, 16.0, 18.0]
    assert closed[0].seqs == list(range(80, 96)) and closed[0].incomplete  # the camera started mid-window
    assert all(len(window.seqs) == 32 and not window.incomplete for window in closed[1:])


def test_a_window_closes_with_the_frame_of_its_last_slot_not_the_next_one() -> None:
    state = CameraWindows()
    # Up to slot 110 (13.75 s): [8, 12) closed, [10, 14) still lacks slot 111.
    assert [window.start for window in feed(state, range(80, 111))] == [8.0]
    closed = feed(state, [111])  # 13.875 s, its last slot: nothing later can belong to it
    assert [(window.start, window.seqs, window.incomplete) for window in closed] == [(10.0, list(range(80, 112)),
                                                                                      False)]


def test_frames_off_the_sampling_grid_close_windows_only_by_the_watermark() -> None:
    # A camera sampled at 4 fps numbers its slots on its own grid: its frames say nothing of stage 2's slots.
    state = CameraWindows()
    closed = []
    for seq in range(40, 56):  # 10 s .. 13.75 s at 4 fps
        state.add(seq, seq / 4, SETTINGS)
        closed += state.close_ready(SETTINGS)[0]
    assert [window.start for window in closed] == [8.0]  # by the watermark (12 s)
    state.add(56, 14.0, SETTINGS)
    assert [window.start for window in state.close_ready(SETTINGS)[0]] == [10.0]


def test_a_gap_marks_the_windows_over_it_incomplete_and_skips_empty_ones() -> None:
    seqs = [*range(80, 120), *range(200, 260)]  # 10-15 s, then 25-32.5 s
    closed = feed(CameraWindows(), seqs)
    starts = [window.start for window in closed]
    assert 18.0 not in starts and 20.0 not in starts  # no frame at all: no window
    assert all(window.incomplete for window in closed if window.start in (12.0, 14.0, 22.0, 24.0))


def test_late_and_duplicate_frames_are_refused_with_a_reason() -> None:
    state = CameraWindows()
    feed(state, range(80, 130))
    assert state.add(81, 81 / 8, SETTINGS).reason == "late"
    assert state.add(129, 129 / 8, SETTINGS).reason == "duplicate"
    assert state.add(130, 130 / 8, SETTINGS).accepted


def test_allowed_lateness_keeps_a_window_open_for_a_frame_out_of_order() -> None:
    lenient = SETTINGS.model_copy(update={"allowed_lateness_s": 0.5})
    state = CameraWindows()
    # seq 111 (13.875 s) arrives after 112-115; window [10, 14) waits until 14.5 s, so it still gets it.
    feed(state, [*range(80, 111), *range(112, 116)], lenient)
    assert state.add(111, 111 / 8, lenient).accepted
    closed = feed(state, range(116, 118), lenient)
    assert [window.start for window in closed] == [10.0]
    assert 111 in closed[0].seqs and not closed[0].incomplete


def test_the_state_round_trips_through_its_changelog_bytes() -> None:
    state = CameraWindows()
    feed(state, range(80, 100))
    restored = CameraWindows.from_bytes(state.to_bytes())
    assert restored == state
    assert feed(restored, range(100, 120)) == feed(state, range(100, 120))


def test_frames_no_open_window_needs_are_evicted() -> None:
    state = CameraWindows()
    feed(state, range(80, 120))
    assert min(state.frames) / 8 >= state.next_start


def test_shedding_lowers_n_with_staleness_down_to_the_floor() -> None:
    shedding = SheddingSettings(staleness_bound_s=1.0, step_s=0.5, floor=2)
    assert [frames_to_keep(8, staleness, shedding) for staleness in (0.2, 1.0, 1.6, 3.0, 60.0)] == [8, 7, 6, 3, 2]
    assert frames_to_keep(1, 60.0, shedding) == 1
    assert frames_to_keep(8, 60.0, shedding.model_copy(update={"enabled": False})) == 8
    assert top_by_score([0.1, 0.9, 0.5, 0.9], 2) == [1, 3]
