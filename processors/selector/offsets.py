"""Stage 2's own input offsets: what to do with a scored-frames record given the last offset applied on its
partition (stored with the window state, so it is never ahead of the state a replacement worker restores)."""

from __future__ import annotations

from enum import Enum


class Verdict(Enum):
    APPLY = "apply"  # the next record (or the partition's first)
    REPLAY = "replay"  # already applied: Faust's committed offset lagged the state, or a record fetched twice
    HOLE = "hole"  # records between the applied one and this one were never applied: seek back to them


def verdict(applied: int | None, offset: int) -> Verdict:
    if applied is None or offset == applied + 1:
        return Verdict.APPLY
    return Verdict.REPLAY if offset <= applied else Verdict.HOLE
