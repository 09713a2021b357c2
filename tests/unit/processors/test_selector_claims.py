"""Stage 2's claim check without Kafka: a window frame's entry holds X_i and the scored-frames coordinates, not
the JPEG; a closed window reads back only its selected frames' JPEGs; an expired one gives an incomplete clip or
none; and a window document written at a close, plus the frames since, restores the state that saw every frame."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from processors.selector.claims import ClaimedFrame
from processors.selector.jpeg_fetch import Fetched
from processors.selector.selection import build_clip
from processors.selector.windows import CameraWindows, ClosedWindow
from processors.settings import SheddingSettings, Stage2Settings
from streams.records import FrameRef, ScoredFrame
from tests.support.features import make_scored_frame

SCORED = "scored-frames"
SETTINGS = Stage2Settings(window_s=4.0, hop_s=2.0, sample_fps=8.0)


class UniformGlobalSelector:
    """gamma_i = 1 for every frame: the selection ranks by delta_i alone, so a test knows which frames win."""

    def global_scores(self, representation: np.ndarray, seed: int = 0) -> np.ndarray:
        return np.ones(len(representation), dtype=np.float32)


def _window(count: int) -> tuple[ClosedWindow, list[ScoredFrame], list[ClaimedFrame]]:
    frames = [make_scored_frame("lobby", "door", 100.0 + seq / 8, seq=800 + seq, delta=(seq * 7 % count) / count,
                                features=np.full(8, seq, dtype=np.float16)) for seq in range(count)]
    claimed = [ClaimedFrame.of(frame, FrameRef(SCORED, 3, 5000 + 2 * index)) for index, frame in enumerate(frames)]
    return ClosedWindow(100.0, 104.0, [frame.seq for frame in frames], False), frames, claimed


class ScoredFramesTopic:
    """The JPEGs behind the claims, some gone by retention; remembers what was asked."""

    def __init__(self, frames: list[ScoredFrame], claimed: list[ClaimedFrame], expired: set[int]) -> None:
        self.jpegs = {entry.claim: frame.jpeg for frame, entry in zip(frames, claimed, strict=True)}
        self.expired = expired
        self.asked: list[FrameRef] = []

    def fetch(self, claims: Sequence[FrameRef]) -> Fetched:
        self.asked += claims
        return Fetched({claim: self.jpegs[claim] for claim in claims if claim.offset not in self.expired},
                       [claim for claim in claims if claim.offset in self.expired])


def _clip(claimed: list[ClaimedFrame], window: ClosedWindow, topic: ScoredFramesTopic):
    return build_clip(UniformGlobalSelector(), "v1", window, claimed, 4, 32, SheddingSettings(), topic.fetch,
                      now=window.end)


def test_an_entry_holds_the_frame_without_its_jpeg_and_where_the_jpeg_lies() -> None:
    frame = make_scored_frame("lobby", "door", 100.0, seq=800, features=np.arange(8, dtype=np.float16))
    entry = ClaimedFrame.from_bytes(ClaimedFrame.of(frame, FrameRef(SCORED, 3, 5000)).to_bytes())
    assert entry.claim == FrameRef(SCORED, 3, 5000) and entry.frame.jpeg == b""
    assert entry.frame.features.tolist() == frame.features.tolist() and entry.frame.delta == frame.delta
    assert len(entry.to_bytes()) < len(frame.to_bytes()) - len(frame.jpeg) + 200


def test_the_previous_releases_entry_is_a_frame_that_carries_its_jpeg() -> None:
    frame = make_scored_frame("lobby", "door", 100.0, seq=800)
    entry = ClaimedFrame.from_bytes(frame.to_bytes())
    assert entry.claim is None and entry.frame.jpeg == frame.jpeg


def test_an_entry_of_a_newer_version_is_refused() -> None:
    entry = ClaimedFrame.of(make_scored_frame("lobby", "door", 100.0), FrameRef(SCORED, 0, 1)).to_bytes()
    newer = entry.replace(b'"version":1', b'"version":2')
    with pytest.raises(ValueError, match="newer"):
        ClaimedFrame.from_bytes(newer)


def test_a_closed_window_reads_back_only_its_selected_frames_jpegs() -> None:
    window, frames, claimed = _window(32)
    topic = ScoredFramesTopic(frames, claimed, expired=set())
    clip, expired = _clip(claimed, window, topic)
    best = sorted(frames, key=lambda frame: frame.delta)[-4:]
    assert clip is not None and not expired and not clip.incomplete
    assert [frame.seq for frame in clip.frames] == sorted(frame.seq for frame in best)
    assert [frame.jpeg for frame in clip.frames] == [frame.jpeg for frame in sorted(best, key=lambda f: f.seq)]
    assert len(topic.asked) == 4 and clip.candidates == 32


def test_a_selected_frame_gone_by_retention_leaves_the_clip_incomplete_and_all_gone_leaves_no_clip() -> None:
    window, frames, claimed = _window(32)
    clip, _ = _clip(claimed, window, ScoredFramesTopic(frames, claimed, expired=set()))
    assert clip is not None
    first = clip.frames[0].seq - 800
    partly, expired = _clip(claimed, window, ScoredFramesTopic(frames, claimed, expired={5000 + 2 * first}))
    assert partly is not None and partly.incomplete and len(partly.frames) == 3
    assert expired == [FrameRef(SCORED, 3, 5000 + 2 * first)]
    everything = {entry.claim.offset for entry in claimed if entry.claim is not None}
    none, expired = _clip(claimed, window, ScoredFramesTopic(frames, claimed, expired=everything))
    assert none is None and len(expired) == 4


def test_entries_of_the_previous_release_are_not_read_back() -> None:
    window, frames, claimed = _window(32)
    topic = ScoredFramesTopic(frames, claimed, expired=set())
    clip, _ = _clip([ClaimedFrame.from_bytes(frame.to_bytes()) for frame in frames], window, topic)
    assert clip is not None and len(clip.frames) == 4 and all(frame.jpeg for frame in clip.frames)
    assert topic.asked == []


def _feed(state: CameraWindows, seqs: range) -> list[ClosedWindow]:
    closed: list[ClosedWindow] = []
    for seq in seqs:
        state.add(seq, seq / 8, SETTINGS, arrival=seq / 8 + 0.2)
        closed += state.close_ready(SETTINGS)[0]
    return closed


def test_the_document_of_the_last_close_and_the_frames_since_restore_the_state_that_saw_every_frame() -> None:
    witness = CameraWindows()
    assert _feed(witness, range(800, 850))
    document = witness.to_bytes()  # written at the close of seq 848's window ...
    _feed(witness, range(850, 855))  # ... and these frames only have their entries
    restored = CameraWindows.from_bytes(document)
    stale = restored.restore([(seq, seq / 8, seq / 8 + 0.1) for seq in [*range(850, 855), 801]], SETTINGS)
    assert stale == [801]  # an entry whose deletion the crash cut off
    assert restored.frames == witness.frames and restored.watermark == witness.watermark
    assert restored.last_arrival == 854 / 8 + 0.1  # the latest frame's scored time stands in for its arrival
    later = range(855, 900)
    assert _feed(restored, later) == _feed(witness, later) != []


def test_a_camera_restored_from_entries_alone_starts_on_its_first_frames_window() -> None:
    witness, restored = CameraWindows(), CameraWindows()
    _feed(witness, range(805, 812))
    restored.restore([(seq, seq / 8, seq / 8 + 0.1) for seq in reversed(range(805, 812))], SETTINGS)
    assert restored.next_start == witness.next_start and restored.frames == witness.frames

