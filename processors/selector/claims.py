"""A frame of an open window as stage 2's state holds it: the scored frame without its JPEG (X_i, delta_i, times,
source), and the claim, the frame's scored-frames coordinates, where the JPEG is read back once the window
closes and the frame is selected (jpeg_fetch.py).

Why: holding every JPEG wrote each frame's ~15 KB again to the table's changelog, for the 1 frame in 4 a clip
keeps. The entry is one record of the common container (streams.records.pack), kind "window-frame", format
version in the header like the window document's: additive changes only; a newer version is refused. The
previous release's entries, whole scored-frame records, are read as frames that carry their JPEG (rolling upgrade).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from streams.records import FrameRef, ScoredFrame, pack, unpack
from streams.schemas import InvalidMessage

WINDOW_FRAME_VERSION = 1


@dataclass(frozen=True)
class ClaimedFrame:
    frame: ScoredFrame  # its jpeg is empty, unless the previous release wrote the entry
    claim: FrameRef | None  # the scored-frames record that carries the JPEG; None: the frame carries it

    KIND = "window-frame"

    @classmethod
    def of(cls, frame: ScoredFrame, claim: FrameRef) -> ClaimedFrame:
        return cls(replace(frame, jpeg=b""), claim)

    def to_bytes(self) -> bytes:
        if self.claim is None:
            return self.frame.to_bytes()
        claim = {"topic": self.claim.topic, "partition": self.claim.partition, "offset": self.claim.offset}
        return pack(self.KIND, {"version": WINDOW_FRAME_VERSION, "claim": claim}, [self.frame.to_bytes()])

    @classmethod
    def from_bytes(cls, data: bytes) -> ClaimedFrame:
        try:
            header, blobs = unpack(data, cls.KIND)
        except InvalidMessage:
            return cls(ScoredFrame.from_bytes(data), None)  # the previous release's entry, or a broken one: raises
        version = header.get("version", WINDOW_FRAME_VERSION)
        if version > WINDOW_FRAME_VERSION:
            raise ValueError(f"window frame version {version} is newer than this worker reads "
                             f"({WINDOW_FRAME_VERSION}): upgrade the worker")
        if len(blobs) != 1:
            raise InvalidMessage(f"malformed {cls.KIND} record: {len(blobs)} blobs, expected 1")
        claim = header["claim"]
        return cls(ScoredFrame.from_bytes(blobs[0]),
                   FrameRef(str(claim["topic"]), int(claim["partition"]), int(claim["offset"])))
