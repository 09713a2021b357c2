"""Sampling by capture time: rate, sequence numbers and gap arithmetic."""

from __future__ import annotations

import itertools

import pytest

from streams.cameras.sampler import PtsSampler, SampledFrame

# A realistic epoch anchor: slot arithmetic must hold at this magnitude, not only near zero.
ANCHOR = 1_764_000_000.0


def _offer_timeline(sampler: PtsSampler, times: list[float]) -> list[SampledFrame]:
    kept = [sampler.offer(t) for t in times]
    return [frame for frame in kept if frame is not None]


@pytest.mark.parametrize("source_fps", [30.0, 25.0])
def test_sampling_keeps_eight_per_second_with_consecutive_seq(source_fps: float) -> None:
    sampler = PtsSampler(8.0, source_fps=source_fps)
    seconds = 10
    times = [ANCHOR + k / source_fps for k in range(int(seconds * source_fps))]

    kept = _offer_timeline(sampler, times)

    assert abs(len(kept) - 8 * seconds) <= 1
    seqs = [frame.seq for frame in kept]
    assert all(later - earlier == 1 for earlier, later in itertools.pairwise(seqs))
    assert all(frame.gap == 0 for frame in kept)


def test_first_frame_of_a_slot_is_kept_and_later_ones_dropped() -> None:
    sampler = PtsSampler(8.0, source_fps=30.0)
    first = sampler.offer(1000.0)
    assert first == SampledFrame(seq=8000, gap=0)
    assert sampler.offer(1000.05) is None  # same 1/8 s slot
    assert sampler.offer(1000.124) is None
    assert sampler.offer(1000.125) == SampledFrame(seq=8001, gap=0)


def test_frame_going_back_in_time_is_not_kept() -> None:
    sampler = PtsSampler(8.0, source_fps=30.0)
    sampler.offer(1001.0)
    assert sampler.offer(1000.5) is None
    assert sampler.offer(1001.125) == SampledFrame(seq=8009, gap=0)


def test_jump_in_capture_time_counts_lost_slots_as_gap() -> None:
    sampler = PtsSampler(8.0, source_fps=30.0)
    before = _offer_timeline(sampler, [1000.0 + k / 30 for k in range(30)])
    assert before[-1].seq == 8007  # 1000.9667 s

    after_outage = sampler.offer(1003.0)  # two seconds without frames

    assert after_outage == SampledFrame(seq=8024, gap=16)  # slots 8008..8023 had no frame


def test_slow_source_sampled_faster_reports_no_gaps() -> None:
    sampler = PtsSampler(8.0, source_fps=5.0)
    times = [ANCHOR + k / 5 for k in range(50)]

    kept = _offer_timeline(sampler, times)

    assert len(kept) == 50  # every frame of a 5 fps source lands in its own 1/8 s slot
    steps = {later.seq - earlier.seq for earlier, later in itertools.pairwise(kept)}
    assert steps <= {1, 2}
    assert all(frame.gap == 0 for frame in kept)


@pytest.mark.parametrize("sample_fps", [0.0, -8.0])
def test_non_positive_sample_fps_raises(sample_fps: float) -> None:
    with pytest.raises(ValueError, match="sample_fps"):
        PtsSampler(sample_fps)
