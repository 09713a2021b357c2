"""The archive on disk: append-only segment files, one per camera and `segment_s` of event time.

Layout under the archive root (names of sites and cameras percent-encoded, so any id is one path part):
    frames/<site>/<camera>/<segment start>.seg    scored-frame records (JPEG + X_i float16 + metadata),
                                                    by capture time
    outcomes/<site>/<segment start>.seg             window outcomes (JSON), by window start
    labels/<site>/<segment start>.seg               labels (JSON), by arrival time

A segment is a sequence of entries `length (u32) | crc32 (u32) | payload`; the payload is the record as it
came off the wire (ScoredFrame.to_bytes or the JSON event), so nothing is re-encoded. A crash mid-append
leaves a torn tail: readers stop at the first entry that does not check out, and a writer reopening the file
cuts it off before appending. A replayed record (at-least-once input) is appended again; readers deduplicate.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote

SUFFIX = ".seg"
_ENTRY = struct.Struct(">II")  # payload length, crc32 of the payload


class Kind(StrEnum):
    FRAMES = "frames"
    OUTCOMES = "outcomes"
    LABELS = "labels"


@dataclass(frozen=True)
class Segment:
    kind: Kind
    site: str
    camera: str | None  # frames only
    start: float
    path: Path
    size: int


def segment_start(time_s: float, segment_s: int) -> int:
    """Start (whole epoch seconds, so file names stay exact) of the segment holding `time_s`."""
    return math.floor(time_s / segment_s) * segment_s


def segment_path(root: Path, kind: Kind, site: str, start: int, camera: str | None = None) -> Path:
    folder = root / kind.value / quote(site, safe="")
    if kind is Kind.FRAMES:
        if camera is None:
            raise ValueError("a frame segment belongs to a camera")
        folder = folder / quote(camera, safe="")
    return folder / f"{start}{SUFFIX}"


def list_segments(root: Path, kind: Kind | None = None, site: str | None = None) -> list[Segment]:
    """Every segment file (of one kind and site, if given), oldest first."""
    segments: list[Segment] = []
    for each in [kind] if kind else list(Kind):
        base = root / each.value
        sites = [base / quote(site, safe="")] if site else (sorted(base.iterdir()) if base.is_dir() else [])
        for site_dir in sites:
            folders = [(None, site_dir)] if each is not Kind.FRAMES else [
                (unquote(camera_dir.name), camera_dir) for camera_dir in sorted(site_dir.glob("*"))
            ]
            for camera, folder in folders:
                for path in folder.glob(f"*{SUFFIX}"):
                    try:
                        start = float(path.stem)
                        size = path.stat().st_size
                    except (ValueError, FileNotFoundError):  # not ours, or evicted meanwhile
                        continue
                    segments.append(Segment(each, unquote(site_dir.name), camera, start, path, size))
    return sorted(segments, key=lambda segment: (segment.start, str(segment.path)))


def encode_entry(payload: bytes) -> bytes:
    return _ENTRY.pack(len(payload), zlib.crc32(payload)) + payload


def read_entries(path: Path) -> Iterator[bytes]:
    """The payloads of a segment up to its first torn or corrupt entry."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # evicted between listing and reading
        return
    yield from (data[start:end] for start, end in _valid_spans(data))


def _valid_spans(data: bytes) -> Iterator[tuple[int, int]]:
    position = 0
    while position + _ENTRY.size <= len(data):
        length, crc = _ENTRY.unpack_from(data, position)
        start, end = position + _ENTRY.size, position + _ENTRY.size + length
        if end > len(data) or zlib.crc32(data[start:end]) != crc:
            return
        yield start, end
        position = end


def valid_length(path: Path) -> int:
    """Bytes of the segment's intact entries (what a writer keeps)."""
    return max((end for _, end in _valid_spans(path.read_bytes())), default=0)


class SegmentWriter:
    """Open append handles of the segments being written; `sync` makes everything appended durable."""

    def __init__(self) -> None:
        self._files: dict[Path, BinaryIO] = {}
        self._dirty: set[Path] = set()
        self._new_dirs: set[Path] = set()
        self._checked: set[Path] = set()  # intact up to their end: reopening them needs no scan
        self.bytes_written = 0

    def append(self, path: Path, payload: bytes) -> None:
        handle = self._files.get(path)
        if handle is None:
            handle = self._open(path)
        entry = encode_entry(payload)
        handle.write(entry)
        self.bytes_written += len(entry)
        self._dirty.add(path)

    def _open(self, path: Path) -> BinaryIO:
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            self._new_dirs.add(path.parent)
        existed = path.exists()
        if existed and path not in self._checked:
            keep = valid_length(path)
            if keep != path.stat().st_size:  # torn tail of a crash: appending after it would hide new entries
                os.truncate(path, keep)
        if not existed:
            self._new_dirs.add(path.parent)
        handle = path.open("ab")
        self._files[path] = handle
        self._checked.add(path)
        return handle

    def sync(self) -> None:
        """fsync every file appended to since the last sync, and the folders that gained files."""
        for path in self._dirty:
            handle = self._files[path]
            handle.flush()
            os.fsync(handle.fileno())
        for folder in self._new_dirs:
            descriptor = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        self._dirty.clear()
        self._new_dirs.clear()

    def close(self) -> None:
        """Sync, then close every handle (eviction may delete the files next)."""
        self.sync()
        for handle in self._files.values():
            handle.close()
        self._files.clear()
