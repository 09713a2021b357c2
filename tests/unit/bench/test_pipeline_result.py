"""The pipeline bench's accounting: latency after the warm-up, lost windows and duplicate events."""

from __future__ import annotations

import numpy as np

from bench.pipeline import trial_result
from streams.records import Clip, ClipFrame, FrameRef, clip_id
from streams.schemas import ActionEvent, HopLatency, LabelScore


def _clip(start: float) -> Clip:
    frame = ClipFrame(seq=1, capture_time=start, ingest_time=start, scored_time=start, source=FrameRef("f", 0, 1),
                      delta=1.0, gamma=1.0, score=1.0, jpeg=b"j", features=np.zeros(2, np.float16))
    return Clip(clip_id=clip_id("s", "c", start), site="s", camera="c", window_start=start,
                window_end=start + 4, frames=[frame], candidates=32, expected_candidates=32, budget=1, shed=False,
                incomplete=False, selector_version="v", model_version="v", closed_time=start + 4)


def _event(clip: Clip, processing: float, shed: bool = False) -> ActionEvent:
    latency = HopLatency(ingest=0.0, score=0.0, select=0.0, classify=0.0, processing=processing,
                         end_to_end=processing + 1)
    return ActionEvent(event_id=clip.clip_id, site="s", camera="c", window_start=clip.window_start,
                       window_end=clip.window_end, label="a", confidence=1.0, top_k=[LabelScore(label="a",
                       confidence=1.0)], frames=[], candidates=32, budget=1, shed=shed, incomplete=False,
                       selector_version="v", model_version="v", published_at=clip.window_end + processing,
                       latency=latency)


def test_latency_counts_after_the_warm_up_and_losses_and_duplicates_count_everything() -> None:
    clips = [_clip(start) for start in (0.0, 2.0, 4.0, 6.0)]
    events = [_event(clips[0], 9.0), _event(clips[1], 0.2), _event(clips[2], 0.4, shed=True),
              _event(clips[2], 0.4, shed=True)]
    result = trial_result(4, clips, events, counted_from=5.0)
    assert (result.events, result.clips, result.lost, result.duplicates, result.shed) == (4, 4, 1, 1, 2)
    assert result.processing_p50_ms == 400.0  # the 9 s warm-up window is left out
    assert result.end_to_end_p99_ms == 1400.0
