"""Sampling by presentation time, and the gap arithmetic that makes lost frames visible."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SampledFrame:
    seq: int  # sampling slot on the capture-time grid
    gap: int  # slots lost since the previous kept frame


def sampling_slot(capture_time: float, sample_fps: float) -> int:
    """The 1/sample_fps slot of capture time a frame falls in: its sequence number once sampled."""
    return math.floor(capture_time * sample_fps + 1e-9)


class PtsSampler:
    """Keeps the first frame of every 1/sample_fps slot of capture time.

    Slots are counted on the capture-time axis (epoch seconds), so sequence numbers stay monotonic across
    reconnects and a reconnect's lost time shows up as a gap. A source slower than sample_fps skips slots by
    nature; only steps larger than the source's own frame interval count as lost.
    """

    def __init__(self, sample_fps: float, source_fps: float | None = None) -> None:
        if sample_fps <= 0:
            raise ValueError("sample_fps must be positive")
        self.sample_fps = sample_fps
        self.source_fps = source_fps
        self._last_slot: int | None = None

    def offer(self, capture_time: float) -> SampledFrame | None:
        slot = sampling_slot(capture_time, self.sample_fps)
        if self._last_slot is not None and slot <= self._last_slot:
            return None
        gap = 0 if self._last_slot is None else self._lost_slots(slot - self._last_slot)
        self._last_slot = slot
        return SampledFrame(seq=slot, gap=gap)

    def _lost_slots(self, step: int) -> int:
        # Slots one source frame interval covers: a 5 fps source sampled at 8 fps legitimately steps 1-2.
        slots_per_source_frame = 1 if not self.source_fps else max(1, math.ceil(self.sample_fps / self.source_fps))
        return max(0, step - slots_per_source_frame)
