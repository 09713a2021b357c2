"""Strategies for hostile input: valid records of each kind, then mutated (truncated, bytes flipped, sizes that
lie, fields replaced by arbitrary JSON), plus plain garbage."""

from __future__ import annotations

import io
import json
import struct
from typing import Any

import numpy as np
from hypothesis import strategies as st
from PIL import Image

from streams.records import Clip, ClipFrame, FrameRef, ScoredFrame, clip_id
from streams.schemas import FrameHeaders, Label, ModelUpdate


def small_jpeg(size: int = 16, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


JPEG = small_jpeg()
_SOF_OFFSET = JPEG.index(b"\xff\xc0")


def declaring(width: int, height: int) -> bytes:
    """The small JPEG with its frame header declaring another size (a decoder bomb when large)."""
    return JPEG[:_SOF_OFFSET + 5] + struct.pack(">HH", height, width) + JPEG[_SOF_OFFSET + 9:]


def scored_frame(seq: int = 1) -> ScoredFrame:
    return ScoredFrame(site="s", camera="c", seq=seq, capture_time=100.0 + seq / 8, ingest_time=100.2,
                       scored_time=100.3, source=FrameRef("frames.s", 0, seq), delta=0.5, brightness=120.0,
                       sharpness=40.0, model_version="m/1", jpeg=JPEG, features=np.ones(8, np.float16))


def clip() -> Clip:
    frames = [ClipFrame(seq=seq, capture_time=100.0 + seq / 8, ingest_time=100.2, scored_time=100.3,
                        source=FrameRef("frames.s", 0, seq), delta=0.5, gamma=0.5, score=0.25, jpeg=JPEG,
                        features=np.ones(8, np.float16)) for seq in (1, 5)]
    return Clip(clip_id=clip_id("s", "c", 100.0), site="s", camera="c", window_start=100.0, window_end=104.0,
                frames=frames, candidates=32, expected_candidates=32, budget=2, shed=False, incomplete=False,
                selector_version="m/1", model_version="m/1", closed_time=104.1)


FRAME_HEADERS = FrameHeaders(site="s", camera="c", seq=1, capture_time=100.0, ingest_time=100.1, width=16,
                             height=16).to_headers()

# Any JSON value, nested a little: what a hostile producer may put in any field.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _mutated(data: bytes, draw: st.DrawFn) -> bytes:
    """`data` truncated, with bytes overwritten, or with bytes inserted (one mutation or a few)."""
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(data)))
        mutation = draw(st.sampled_from(["truncate", "overwrite", "insert"]))
        if mutation == "truncate":
            data = data[:position]
        elif mutation == "overwrite":
            patch = draw(st.binary(min_size=1, max_size=8))
            data = data[:position] + patch + data[position + len(patch):]
        else:
            data = data[:position] + draw(st.binary(min_size=1, max_size=64)) + data[position:]
    return data


@st.composite
def hostile_jpegs(draw: st.DrawFn) -> bytes:
    """Garbage, a mutated JPEG, or a JPEG whose frame header declares another (often huge) size."""
    kind = draw(st.sampled_from(["garbage", "mutated", "declared_size"]))
    if kind == "garbage":
        return draw(st.binary(max_size=512))
    if kind == "mutated":
        return _mutated(JPEG, draw)
    return declaring(draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF)))


@st.composite
def hostile_containers(draw: st.DrawFn, valid: bytes) -> bytes:
    """A record container (magic, format, header length, JSON header, blobs) with lies in any part."""
    kind = draw(st.sampled_from(["garbage", "mutated", "header", "deep", "field", "lengths"]))
    if kind == "garbage":
        return draw(st.binary(max_size=256))
    if kind == "mutated":
        return _mutated(valid, draw)
    _, version, header_size = struct.unpack_from(">3sBI", valid)
    header: dict[str, Any] = json.loads(valid[8:8 + header_size])
    blobs = valid[8 + header_size:]
    magic = draw(st.sampled_from([b"ASR", b"ASR", b"XYZ"]))
    version = draw(st.sampled_from([version, version, 0, 2, 255]))
    if kind == "header":
        encoded = json.dumps(draw(json_values)).encode()
    elif kind == "deep":
        depth = draw(st.integers(1, 200_000))  # past the JSON parser's recursion limit
        encoded = b"[" * depth + b"]" * depth
    elif kind == "field":
        # One field replaced (or a frame's field, for clips) by an arbitrary JSON value.
        target = header
        if "frames" in header and draw(st.booleans()):
            target = header["frames"][0]
        target[draw(st.sampled_from(sorted(target)))] = draw(json_values)
        encoded = json.dumps(header).encode()
    else:
        header["blob_sizes"] = draw(st.lists(st.integers(-2**40, 2**40), max_size=2000))
        encoded = json.dumps(header).encode()
    declared = len(encoded)
    if kind == "lengths":
        declared = draw(st.integers(0, 2**32 - 1) | st.just(declared))
    return struct.pack(">3sBI", magic, version, declared) + encoded + blobs


# What a header value may be instead of the right one: absent, empty, not a number, not finite, not UTF-8, huge.
_bad_header_values = st.sampled_from([None, b"", b"nan", b"inf", b"-1", b"0", b"2", b"1e999", b"\xff\xfe", b"x" * 300]
                                     ) | st.binary(max_size=16) | st.integers(-2**70, 2**70).map(
                                         lambda number: str(number).encode())
_extra_headers = st.lists(st.sampled_from(FRAME_HEADERS) | st.tuples(st.text(max_size=8), st.binary(max_size=8)),
                          max_size=3)


@st.composite
def hostile_headers(draw: st.DrawFn) -> list[tuple[str, bytes | None]]:
    """Frame headers with names missing, duplicated or unknown and values of the wrong type or version."""
    dropped = draw(st.sets(st.sampled_from(FRAME_HEADERS), max_size=2))
    replaced = draw(st.dictionaries(st.sampled_from([name for name, _ in FRAME_HEADERS]), _bad_header_values,
                                    max_size=3))
    headers = [(name, replaced.get(name, value)) for name, value in FRAME_HEADERS if (name, value) not in dropped]
    return headers + draw(_extra_headers)  # extra ones last: the parser reads them into a dict, order is moot


@st.composite
def hostile_events(draw: st.DrawFn, valid: Label | ModelUpdate) -> bytes:
    """A JSON event: garbage, the valid one mutated, any JSON value, or one field replaced (schema included)."""
    kind = draw(st.sampled_from(["garbage", "mutated", "json", "field"]))
    encoded = valid.to_json_bytes()
    if kind == "garbage":
        return draw(st.binary(max_size=256))
    if kind == "mutated":
        return _mutated(encoded, draw)
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    document = json.loads(encoded)
    name = draw(st.sampled_from([*sorted(document), "unexpected"]))
    document[name] = draw(json_values | st.integers(0, 3))
    return json.dumps(document).encode()
