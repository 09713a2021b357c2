"""What the sink does with each record, without Kafka: validate it, append its wire bytes to the segment it
belongs to, sync, evict. Raises InvalidMessage (or pydantic's ValidationError) for a record to dead-letter."""

from __future__ import annotations

import math

import numpy as np

from processors.archive.eviction import plan_eviction
from processors.archive.settings import ArchiveSettings
from processors.archive.storage import Kind, Segment, SegmentWriter, list_segments, segment_path, segment_start
from streams.records import ScoredFrame
from streams.schemas import InvalidMessage, Label, WindowOutcome


class ArchiveRecorder:
    def __init__(self, settings: ArchiveSettings) -> None:
        self.options = settings.archive
        self.sites = set(settings.sites)
        self.site_horizons_s = {site: retention.archive_s for site, retention in settings.retention.items()
                                if retention.archive_s is not None}
        self.writer = SegmentWriter()

    def add_frame(self, value: bytes | None) -> bool:
        """Store a scored frame by capture time; False: a site this archive does not keep."""
        frame = ScoredFrame.from_bytes(value)
        if not math.isfinite(frame.capture_time) or not np.isfinite(frame.features).all():
            raise InvalidMessage(f"scored frame {frame.site}/{frame.camera}#{frame.seq}: non-finite capture time "
                                 "or features")
        if frame.site not in self.sites:
            return False
        start = segment_start(frame.capture_time, self.options.segment_s)
        self.writer.append(segment_path(self.options.root, Kind.FRAMES, frame.site, start, frame.camera), value or b"")
        return True

    def add_outcome(self, value: bytes | None) -> bool:
        """Store a window outcome by window start; False: a site this archive does not keep."""
        outcome = WindowOutcome.model_validate_json(value or b"")
        if not (math.isfinite(outcome.window_start) and outcome.window_end > outcome.window_start):
            raise InvalidMessage(f"outcome {outcome.event_id}: window [{outcome.window_start}, {outcome.window_end}) "
                                 "is empty or not finite")
        if outcome.site not in self.sites:
            return False
        start = segment_start(outcome.window_start, self.options.segment_s)
        self.writer.append(segment_path(self.options.root, Kind.OUTCOMES, outcome.site, start), value or b"")
        return True

    def add_label(self, value: bytes | None, site: str, arrival: float) -> None:
        """Store a label of a site by arrival time (its window may be long gone by its labelled_at)."""
        Label.model_validate_json(value or b"")
        start = segment_start(arrival, self.options.segment_s)
        self.writer.append(segment_path(self.options.root, Kind.LABELS, site, start), value or b"")

    def sync(self) -> None:
        self.writer.sync()

    def close(self) -> None:
        self.writer.close()

    def evict(self, now: float) -> list[Segment]:
        """Delete the segments past the horizon, then the oldest while the archive is over its cap."""
        self.writer.close()  # no handle may keep writing into a deleted file
        doomed = plan_eviction(list_segments(self.options.root), now, self.options.horizon_s,
                               self.options.segment_s, self.options.max_bytes, self.site_horizons_s)
        for segment in doomed:
            segment.path.unlink(missing_ok=True)
        return doomed
