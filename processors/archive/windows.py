"""Windows of the archive: which stored frames a window holds, and a train/test split in time blocks.

A window [start, start + W) holds the frames of its camera captured in that span (stage 2's membership, with
W from Stage2Settings). Windows overlap (hop H < W), so neighbours share frames: a random split would put
near copies on both sides. The split holds out whole blocks of event time instead, and drops train windows of
a camera that overlap one of its test windows (the windows straddling a block edge).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from streams.records import ScoredFrame


@dataclass(frozen=True)
class WindowSpan:
    event_id: str
    camera: str
    start: float
    end: float


@dataclass(frozen=True)
class Split:
    train: list[WindowSpan] = field(default_factory=list)
    test: list[WindowSpan] = field(default_factory=list)
    embargoed: list[WindowSpan] = field(default_factory=list)  # overlap a test window: in neither subset


def window_frames(frames: Iterable[ScoredFrame], camera: str, start: float, window_s: float) -> list[ScoredFrame]:
    """The camera's frames in [start, start + W), in capture order, one per sequence number (a replayed
    record is stored twice)."""
    end = start + window_s
    unique = {frame.seq: frame for frame in frames if frame.camera == camera and start <= frame.capture_time < end}
    return sorted(unique.values(), key=lambda frame: (frame.capture_time, frame.seq))


def time_block_split(windows: Sequence[WindowSpan], block_s: float, test_share: float) -> Split:
    """Every k-th occupied block of `block_s` seconds (k = round(1 / test_share)) is test, the rest train; with
    two blocks or more at least one is test. Deterministic: the same windows always split the same way."""
    def block_of(window: WindowSpan) -> int:
        return int(window.start // block_s)

    blocks = sorted({block_of(window) for window in windows})
    period = max(2, round(1 / test_share))
    test_blocks = {block for rank, block in enumerate(blocks) if (rank + 1) % period == 0}
    if not test_blocks and len(blocks) >= 2:
        test_blocks = {blocks[-1]}
    test = [window for window in windows if block_of(window) in test_blocks]
    test_spans: dict[str, list[WindowSpan]] = {}
    for window in test:
        test_spans.setdefault(window.camera, []).append(window)
    train: list[WindowSpan] = []
    embargoed: list[WindowSpan] = []
    for window in windows:
        if block_of(window) in test_blocks:
            continue
        overlaps = any(other.start < window.end and window.start < other.end
                       for other in test_spans.get(window.camera, []))
        (embargoed if overlaps else train).append(window)
    return Split(train=train, test=test, embargoed=embargoed)
