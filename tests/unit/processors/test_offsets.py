"""Stage 2's input offsets: the next record is applied, earlier ones are replays, a jump is a hole."""

from __future__ import annotations

from processors.selector.offsets import Verdict, verdict


def test_the_first_record_of_a_partition_and_the_next_one_are_applied() -> None:
    assert verdict(None, 57) is Verdict.APPLY
    assert verdict(57, 58) is Verdict.APPLY


def test_records_up_to_the_applied_offset_are_replays() -> None:
    assert verdict(57, 57) is Verdict.REPLAY
    assert verdict(57, 3) is Verdict.REPLAY


def test_a_record_past_the_next_one_is_a_hole() -> None:
    assert verdict(57, 59) is Verdict.HOLE
    assert verdict(57, 185) is Verdict.HOLE
