"""Eviction: whole segments past the label horizon, then the oldest until the archive fits its cap; on disk
through the recorder, and a writer that had a deleted segment open starts a new file."""

from __future__ import annotations

from pathlib import Path

from processors.archive.eviction import plan_eviction
from processors.archive.recorder import ArchiveRecorder
from processors.archive.settings import ArchiveOptions, ArchiveSettings
from processors.archive.storage import Kind, Segment, list_segments, read_entries
from streams.retention import SiteRetention
from tests.support.features import make_scored_frame


def _segment(start: float, size: int) -> Segment:
    return Segment(Kind.FRAMES, "s", "c", start, Path(f"{start}.seg"), size)


def test_segments_wholly_past_the_horizon_go() -> None:
    segments = [_segment(start, 10) for start in (0, 60, 120, 180)]
    # cutoff 1000 - 850 = 150: [120, 180) still holds data younger than the horizon
    doomed = plan_eviction(segments, now=1000.0, horizon_s=850.0, segment_s=60, max_bytes=10**9)
    assert [segment.start for segment in doomed] == [0, 60]


def test_a_site_with_its_own_retention_leaves_earlier() -> None:
    short = [Segment(Kind.FRAMES, "short", "c", start, Path(f"short-{start}.seg"), 10) for start in (0, 600)]
    default = [_segment(start, 10) for start in (0, 600)]
    doomed = plan_eviction(short + default, now=1000.0, horizon_s=900.0, segment_s=60, max_bytes=10**9,
                           site_horizons_s={"short": 300.0})
    assert [(segment.site, segment.start) for segment in doomed] == [("s", 0), ("short", 0), ("short", 600)]


def test_the_recorder_takes_each_sites_archive_retention() -> None:
    settings = ArchiveSettings(sites=["s", "t"], retention={"s": SiteRetention(archive_h=0.5),
                                                            "t": SiteRetention(frames_h=1)})
    assert ArchiveRecorder(settings).site_horizons_s == {"s": 1800.0}


def test_over_the_cap_the_oldest_go_first() -> None:
    segments = [_segment(start, 100) for start in (180, 0, 120, 60)]
    doomed = plan_eviction(segments, now=200.0, horizon_s=10**6, segment_s=60, max_bytes=250)
    assert [segment.start for segment in doomed] == [0, 60]
    assert plan_eviction(segments, now=200.0, horizon_s=10**6, segment_s=60, max_bytes=400) == []


def test_the_recorder_evicts_on_disk_and_keeps_writing(tmp_path: Path) -> None:
    settings = ArchiveSettings(sites=["s"], archive=ArchiveOptions(root=tmp_path, horizon_s=120.0, segment_s=60))
    recorder = ArchiveRecorder(settings)
    t0 = 6_000.0
    for seq in range(5 * 60):  # one frame a second for 5 minutes: five segments
        recorder.add_frame(make_scored_frame("s", "c", t0 + seq, seq=seq).to_bytes())
    recorder.sync()
    doomed = recorder.evict(now=t0 + 300.0)  # horizon: data from t0 + 180 on stays
    assert [segment.start for segment in doomed] == [6_000, 6_060, 6_120]
    assert [segment.start for segment in list_segments(tmp_path)] == [6_180, 6_240]

    newest = list_segments(tmp_path)[-1].size
    capped = ArchiveRecorder(settings.model_copy(update={"archive": settings.archive.model_copy(
        update={"max_bytes": newest})}))
    assert [segment.start for segment in capped.evict(now=t0 + 300.0)] == [6_180]
    recorder.add_frame(make_scored_frame("s", "c", t0 + 190.0, seq=999).to_bytes())  # its segment was deleted
    recorder.close()
    [recreated] = [segment for segment in list_segments(tmp_path) if segment.start == 6_180]
    assert len(list(read_entries(recreated.path))) == 1
