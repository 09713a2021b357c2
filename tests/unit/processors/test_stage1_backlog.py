"""Stage 1's backlog as a window process judges it: the stage-1 group's committed offsets against the frames
partitions' ends of `backlog_after_s` ago."""

from __future__ import annotations

from processors.selector.stage1_backlog import backlog_behind

A, B = ("p.frames.site", 0), ("p.frames.site", 1)


def test_committed_up_to_the_ends_of_back_then_is_not_behind_though_newer_frames_wait() -> None:
    assert not backlog_behind({A: 120, B: 80}, {A: 0, B: 0}, {A: 120, B: 75})


def test_one_partition_short_of_its_end_of_back_then_is_behind() -> None:
    assert backlog_behind({A: 120, B: 74}, {A: 0, B: 0}, {A: 120, B: 75})


def test_a_partition_never_committed_counts_from_its_earliest_retained_record() -> None:
    assert backlog_behind({A: 120}, {A: 0, B: 10}, {A: 120, B: 12})
    assert not backlog_behind({A: 120}, {A: 0, B: 12}, {A: 120, B: 12})  # its records expired: nothing waits
