"""Segment files: entries read back as written, a torn tail is ignored and cut off before the next append,
and the layout round-trips any site or camera id."""

from __future__ import annotations

from pathlib import Path

from processors.archive.storage import (
    Kind,
    SegmentWriter,
    encode_entry,
    list_segments,
    read_entries,
    segment_path,
    segment_start,
)


def test_segment_start_is_a_whole_multiple_of_the_segment_length() -> None:
    assert segment_start(1_000_059.9, 60) == 1_000_020
    assert segment_start(1_000_080.0, 60) == 1_000_080
    assert segment_start(-0.5, 60) == -60


def test_entries_read_back_as_written(tmp_path: Path) -> None:
    path = segment_path(tmp_path, Kind.OUTCOMES, "s", 60)
    writer = SegmentWriter()
    payloads = [b"first", b"", b"x" * 70_000]
    for payload in payloads:
        writer.append(path, payload)
    writer.sync()
    assert list(read_entries(path)) == payloads
    assert writer.bytes_written == path.stat().st_size == sum(len(encode_entry(p)) for p in payloads)
    writer.close()


def test_a_torn_tail_is_ignored_and_cut_off_before_the_next_append(tmp_path: Path) -> None:
    path = segment_path(tmp_path, Kind.FRAMES, "s", 0, "cam")
    path.parent.mkdir(parents=True)
    path.write_bytes(encode_entry(b"kept") + encode_entry(b"torn by a crash")[:-3])
    assert list(read_entries(path)) == [b"kept"]
    writer = SegmentWriter()  # a restarted sink
    writer.append(path, b"after restart")
    writer.close()
    assert list(read_entries(path)) == [b"kept", b"after restart"]


def test_a_corrupt_entry_ends_the_readable_part(tmp_path: Path) -> None:
    path = tmp_path / "0.seg"
    good, bad = encode_entry(b"good"), bytearray(encode_entry(b"flipped"))
    bad[-1] ^= 0xFF
    path.write_bytes(good + bytes(bad) + encode_entry(b"unreachable"))
    assert list(read_entries(path)) == [b"good"]


def test_listing_finds_every_kind_with_ids_that_are_not_path_safe(tmp_path: Path) -> None:
    writer = SegmentWriter()
    writer.append(segment_path(tmp_path, Kind.FRAMES, "site a", 120, "door/1"), b"f")
    writer.append(segment_path(tmp_path, Kind.FRAMES, "site a", 60, "door/1"), b"f")
    writer.append(segment_path(tmp_path, Kind.OUTCOMES, "site a", 60), b"o")
    writer.append(segment_path(tmp_path, Kind.LABELS, "other", 0), b"l")
    writer.close()
    found = [(s.kind, s.site, s.camera, s.start, s.size) for s in list_segments(tmp_path)]
    assert found == [(Kind.LABELS, "other", None, 0, 9), (Kind.FRAMES, "site a", "door/1", 60, 9),
                     (Kind.OUTCOMES, "site a", None, 60, 9), (Kind.FRAMES, "site a", "door/1", 120, 9)]
    assert [s.start for s in list_segments(tmp_path, Kind.FRAMES, "site a")] == [60, 120]
    assert list_segments(tmp_path, Kind.OUTCOMES, "nowhere") == []
