"""Golden records of container format 1: a clip as the previous release published it is still read, field for
field, so selector and classifier workers of two releases can share the clips topic during an upgrade."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from streams.records import RECORD_FORMAT, Clip, FrameRef, clip_id

GOLDEN_CLIP = Path(__file__).parent / "data" / "clip.v1.b64"


def test_a_format_1_clip_is_read_field_for_field() -> None:
    data = base64.b64decode(GOLDEN_CLIP.read_text())
    assert data[:4] == b"ASR\x01" and RECORD_FORMAT == 1
    clip = Clip.from_bytes(data)
    assert (clip.clip_id, clip.site, clip.camera) == (clip_id("lobby", "door", 1_800_000_000.0), "lobby", "door")
    assert (clip.window_start, clip.window_end, clip.closed_time) == (1_800_000_000.0, 1_800_000_004.0, 1_800_000_004.2)
    assert (clip.candidates, clip.expected_candidates, clip.budget, clip.shed, clip.incomplete) == (32, 32, 2, False,
                                                                                                     False)
    assert [frame.seq for frame in clip.frames] == [3, 17]
    assert clip.frames[1].source == FrameRef("frames.lobby", 3, 1017) and clip.frames[1].score == 0.25
    assert np.array_equal(clip.frames[0].features, np.linspace(-1, 1, 8, dtype=np.float16))
    assert clip.to_bytes() == data  # this release writes the same bytes
