"""Which segments to delete: those wholly past the label horizon, then the oldest until the archive fits its
disk cap. A segment is judged by its time span, so a camera's frames and the windows built on them leave
together."""

from __future__ import annotations

from collections.abc import Sequence

from processors.archive.storage import Segment


def plan_eviction(segments: Sequence[Segment], now: float, horizon_s: float, segment_s: float,
                  max_bytes: int) -> list[Segment]:
    """The segments to delete, oldest first."""
    cutoff = now - horizon_s
    ordered = sorted(segments, key=lambda segment: (segment.start, str(segment.path)))
    expired = [segment for segment in ordered if segment.start + segment_s <= cutoff]
    kept = [segment for segment in ordered if segment.start + segment_s > cutoff]
    total = sum(segment.size for segment in kept)
    over_cap: list[Segment] = []
    for segment in kept:
        if total <= max_bytes:
            break
        over_cap.append(segment)
        total -= segment.size
    return expired + over_cap
