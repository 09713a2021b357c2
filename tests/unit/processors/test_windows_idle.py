"""A camera that stops: its open windows close, marked incomplete, after `idle_close_s` of wall-clock silence."""

from __future__ import annotations

from processors.selector.windows import CameraWindows
from processors.settings import Stage2Settings

SETTINGS = Stage2Settings(window_s=4.0, hop_s=2.0, sample_fps=8.0, allowed_lateness_s=0.0, idle_close_s=5.0)
ARRIVAL = 1_000.0  # wall-clock time of the camera's last frame


def stopped_camera() -> CameraWindows:
    """Frames 10.0 s .. 16.875 s (event time), every one arriving at ARRIVAL; windows up to [12, 16) closed."""
    state = CameraWindows()
    for seq in range(80, 136):
        state.add(seq, seq / SETTINGS.sample_fps, SETTINGS, arrival=ARRIVAL)
        state.close_ready(SETTINGS)
    return state


def test_open_windows_stay_open_until_the_idle_timeout() -> None:
    state = stopped_camera()
    assert not state.is_idle(ARRIVAL + 4.9, SETTINGS)
    assert state.close_idle(ARRIVAL + 4.9, SETTINGS) == ([], [])
    assert state.frames


def test_an_idle_camera_closes_every_open_window_incomplete_and_evicts_its_frames() -> None:
    state = stopped_camera()
    closed, evicted = state.close_idle(ARRIVAL + 5.0, SETTINGS)
    assert [(window.start, window.end) for window in closed] == [(14.0, 18.0), (16.0, 20.0)]
    assert closed[0].seqs == list(range(112, 136)) and closed[1].seqs == list(range(128, 136))
    assert all(window.incomplete for window in closed)
    assert sorted(evicted) == list(range(112, 136)) and not state.frames
    assert not state.is_idle(ARRIVAL + 60.0, SETTINGS)  # nothing left to close


def test_frames_of_windows_closed_for_idleness_are_late_and_later_windows_resume() -> None:
    state = stopped_camera()
    state.close_idle(ARRIVAL + 5.0, SETTINGS)
    assert state.add(136, 136 / 8, SETTINGS, arrival=ARRIVAL + 6.0).reason == "late"  # 17.0 s: window [16, 20) left
    assert state.add(160, 160 / 8, SETTINGS, arrival=ARRIVAL + 6.0).accepted  # 20.0 s opens [18, 22) and [20, 24)
    assert not state.is_idle(ARRIVAL + 6.0, SETTINGS)


def test_the_arrival_time_survives_the_changelog() -> None:
    state = stopped_camera()
    restored = CameraWindows.from_bytes(state.to_bytes())
    assert restored.last_arrival == ARRIVAL and restored.is_idle(ARRIVAL + 5.0, SETTINGS)
    before_idle_close = b'{"next_start": 8.0, "watermark": 9.0, "frames": [[72, 9.0]]}'  # state written earlier
    assert CameraWindows.from_bytes(before_idle_close).last_arrival is None
