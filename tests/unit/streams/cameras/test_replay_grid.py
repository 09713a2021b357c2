"""A paced file camera with `start_grid_s` starts its replay on the epoch grid (the parity bench's windows)."""

import pytest

from streams.cameras.worker import _Timeline


def test_a_gridded_replay_starts_at_the_next_multiple() -> None:
    timeline = _Timeline(follow_arrivals=False, start_grid_s=2.0)

    assert timeline.capture_time(0.0, now=1_001.3) == 1_002.0
    assert timeline.capture_time(4.0, now=1_006.0) == pytest.approx(1_006.0)


def test_live_sources_ignore_the_grid() -> None:
    timeline = _Timeline(follow_arrivals=True, start_grid_s=2.0)

    assert timeline.capture_time(0.0, now=1_001.3) == 1_001.3
