"""Scored-frame and clip records: round trips, deterministic clip ids, and a reason for every bad record."""

from __future__ import annotations

import numpy as np
import pytest

from streams.records import Clip, ClipFrame, FrameRef, ScoredFrame, clip_id
from streams.schemas import InvalidMessage


def scored(seq: int) -> ScoredFrame:
    return ScoredFrame(site="s", camera="c", seq=seq, capture_time=seq / 8, ingest_time=seq / 8 + 0.01,
                       scored_time=seq / 8 + 0.05, source=FrameRef("frames.s", 3, seq), delta=0.4, brightness=120.0,
                       sharpness=55.0, model_version="m/1", jpeg=b"\xff\xd8jpeg",
                       features=np.arange(6, dtype=np.float16))


def test_a_scored_frame_round_trips() -> None:
    frame = scored(7)
    restored = ScoredFrame.from_bytes(frame.to_bytes())
    assert restored.features.tolist() == frame.features.tolist()
    assert restored == ScoredFrame(**{**frame.__dict__, "features": restored.features})


def test_a_clip_round_trips_with_its_frames_in_order() -> None:
    frames = [ClipFrame(seq=seq, capture_time=seq / 8, ingest_time=0.0, scored_time=0.0, source=FrameRef("f", 0, seq),
                        delta=0.5, gamma=0.5, score=0.25, jpeg=bytes([seq]) * 5, features=np.ones(4, np.float16))
              for seq in (3, 9)]
    clip = Clip(clip_id=clip_id("s", "c", 10.0), site="s", camera="c", window_start=10.0, window_end=14.0,
                frames=frames, candidates=32, expected_candidates=32, budget=2, shed=False, incomplete=False,
                selector_version="m/1", model_version="m/1", closed_time=14.2)
    restored = Clip.from_bytes(clip.to_bytes())
    assert [frame.seq for frame in restored.frames] == [3, 9]
    assert [frame.jpeg for frame in restored.frames] == [frame.jpeg for frame in frames]
    assert restored.clip_id == clip.clip_id and restored.window_end == 14.0


def test_clip_ids_depend_on_the_window_only() -> None:
    assert clip_id("s", "c", 10.0) == clip_id("s", "c", 10.0000001)
    assert len({clip_id("s", "c", 10.0), clip_id("s", "c", 12.0), clip_id("s", "d", 10.0),
                clip_id("t", "c", 10.0)}) == 4


@pytest.mark.parametrize("data, reason", [
    (b"", "not a scored-frame record"),
    (b"XYZ\x01\x00\x00\x00\x02{}", "bad magic"),
    (b"ASR\x02\x00\x00\x00\x02{}", "unsupported scored-frame record format 2"),
    (b"ASR\x01\x00\x00\x00\x40{}", "truncated scored-frame record"),
    (b"ASR\x01\x00\x00\x00\x05{oops", "malformed scored-frame record header"),
])
def test_bad_records_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        ScoredFrame.from_bytes(data)


def test_a_clip_record_is_not_a_scored_frame_and_a_cut_one_is_refused() -> None:
    data = scored(1).to_bytes()
    with pytest.raises(InvalidMessage, match="expected a clip record"):
        Clip.from_bytes(data)
    with pytest.raises(InvalidMessage, match="truncated or padded"):
        ScoredFrame.from_bytes(data[:-3])
