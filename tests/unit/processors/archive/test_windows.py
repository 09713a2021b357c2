"""Window membership by capture time, and the time-block split: overlapping neighbours of one camera never sit
on both sides."""

from __future__ import annotations

import pytest

from processors.archive.windows import WindowSpan, time_block_split, window_frames
from tests.support.features import make_scored_frame


def test_a_window_holds_its_cameras_frames_of_start_inclusive_end_exclusive() -> None:
    frames = [make_scored_frame("s", "a", 100.0 + seq / 2, seq=seq) for seq in range(12)]  # 100.0 .. 105.5
    frames += [make_scored_frame("s", "b", 101.0, seq=50), frames[3]]  # another camera; a replayed record
    members = window_frames(reversed(frames), "a", 101.0, 4.0)
    assert [frame.capture_time for frame in members] == [101.0 + step / 2 for step in range(8)]
    assert window_frames(frames, "a", 106.0, 4.0) == []


def _windows(camera: str, start: float, count: int, hop: float = 2.0, length: float = 4.0) -> list[WindowSpan]:
    return [WindowSpan(f"{camera}-{i}", camera, start + i * hop, start + i * hop + length) for i in range(count)]


def test_overlapping_windows_never_sit_on_both_sides() -> None:
    windows = _windows("a", 1000.0, 300) + _windows("b", 1001.0, 300)  # 10 minutes each, hop 2 s, W 4 s
    split = time_block_split(windows, block_s=60.0, test_share=0.2)
    assert len(split.train) + len(split.test) + len(split.embargoed) == len(windows)
    assert len(split.test) == pytest.approx(0.2 * len(windows), rel=0.1)
    for train in split.train:
        assert not any(test.camera == train.camera and test.start < train.end and train.start < test.end
                       for test in split.test)
    assert split.embargoed  # the windows straddling a block edge
    assert time_block_split(list(reversed(windows)), 60.0, 0.2).test == list(reversed(split.test))


def test_two_blocks_give_one_test_block_and_one_block_gives_none() -> None:
    two = time_block_split(_windows("a", 0.0, 40), block_s=60.0, test_share=0.2)  # starts 0 .. 78
    assert {window.start // 60 for window in two.test} == {1.0}
    one = time_block_split(_windows("a", 0.0, 20), block_s=60.0, test_share=0.2)
    assert (len(one.train), one.test, one.embargoed) == (20, [], [])
