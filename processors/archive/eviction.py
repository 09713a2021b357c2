"""Which segments to delete: those wholly past the label horizon (a site's own, where it has one), then the oldest
until the archive fits its disk cap. A segment is judged by its time span, so a camera's frames and the windows
built on them leave together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from processors.archive.storage import Segment


def plan_eviction(segments: Sequence[Segment], now: float, horizon_s: float, segment_s: float,
                  max_bytes: int, site_horizons_s: Mapping[str, float] | None = None) -> list[Segment]:
    """The segments to delete, oldest first."""
    def expired(segment: Segment) -> bool:
        return segment.start + segment_s <= now - (site_horizons_s or {}).get(segment.site, horizon_s)

    ordered = sorted(segments, key=lambda segment: (segment.start, str(segment.path)))
    past = [segment for segment in ordered if expired(segment)]
    kept = [segment for segment in ordered if not expired(segment)]
    total = sum(segment.size for segment in kept)
    over_cap: list[Segment] = []
    for segment in kept:
        if total <= max_bytes:
            break
        over_cap.append(segment)
        total -= segment.size
    return past + over_cap
