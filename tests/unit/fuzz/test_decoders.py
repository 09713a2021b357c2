"""Every decoder of an incoming record, fed hostile input: each returns a valid value or raises the project's
decode error (InvalidMessage, JpegDecodeError), whose text becomes the dead-letter reason. Any other exception
would take a worker down. Example counts come from the hypothesis profile (tests/conftest.py)."""

from __future__ import annotations

import resource

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors.features.aggregates import luma_thumbnail
from processors.labels import join_label
from processors.selector.scoring import FrameRecord, decode_records
from processors.settings import Stage1Settings
from streams.codec import MAX_JPEG_PIXELS, JpegDecodeError, decode_jpeg, jpeg_dimensions
from streams.records import Clip, FrameRef, ScoredFrame
from streams.schemas import FrameHeaders, InvalidMessage, Label, ModelUpdate, WindowOutcome, parse_event
from tests.unit.fuzz.hostile import (
    FRAME_HEADERS,
    JPEG,
    clip,
    declaring,
    hostile_containers,
    hostile_events,
    hostile_headers,
    hostile_jpegs,
    scored_frame,
)

SOURCE = FrameRef("frames.s", 0, 0)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@given(hostile_jpegs())
def test_a_hostile_jpeg_decodes_small_or_is_refused(data: bytes) -> None:
    try:
        image = decode_jpeg(data, (16, 16))
    except JpegDecodeError as error:
        assert str(error)
        return
    assert image.shape == (16, 16, 3) and image.dtype == np.uint8
    width, height = jpeg_dimensions(data)
    assert width * height <= MAX_JPEG_PIXELS


@given(hostile_jpegs())
def test_the_feature_sink_thumbnail_refuses_hostile_jpegs(data: bytes) -> None:
    try:
        luma = luma_thumbnail(data)
    except InvalidMessage as error:
        assert str(error)
        return
    assert luma.ndim == 2 and np.isfinite(luma).all()


@given(st.integers(4097, 0xFFFF), st.integers(4097, 0xFFFF))
def test_a_jpeg_bomb_is_refused_before_anything_is_allocated(width: int, height: int) -> None:
    before = _peak_rss_mb()
    bomb = declaring(width, height)
    with pytest.raises(JpegDecodeError, match="too large"):
        decode_jpeg(bomb)
    with pytest.raises(InvalidMessage, match="too large"):
        luma_thumbnail(bomb)
    assert _peak_rss_mb() - before < 64  # a decoded bomb would take gigabytes


@given(hostile_headers(), hostile_jpegs() | st.just(JPEG))
def test_stage1_decodes_or_refuses_every_frame_record(headers: list[tuple[str, bytes | None]], value: bytes) -> None:
    record = FrameRecord(value, headers, SOURCE)
    decoded, refused = decode_records([record], 16, Stage1Settings())
    assert len(decoded) + len(refused) == 1
    if refused:
        assert refused[0].reason
    else:
        assert decoded[0].rgb.shape == (16, 16, 3)


@given(hostile_headers())
def test_frame_headers_parse_or_say_what_is_wrong(headers: list[tuple[str, bytes | None]]) -> None:
    try:
        parsed = FrameHeaders.from_headers(headers)
    except InvalidMessage as error:
        assert str(error)
        return
    names = [name for name, _ in headers]
    assert sorted(set(names)) == sorted(names)  # a duplicated header is never silently resolved
    assert parsed.width > 0 and parsed.height > 0 and parsed.schema == 1


def test_a_duplicated_header_is_refused_even_with_equal_values() -> None:
    with pytest.raises(InvalidMessage, match="duplicated frame headers: seq"):
        FrameHeaders.from_headers([*FRAME_HEADERS, ("seq", b"1")])


@given(hostile_containers(scored_frame().to_bytes()))
def test_a_hostile_scored_frame_container_is_decoded_or_refused(data: bytes) -> None:
    try:
        frame = ScoredFrame.from_bytes(data)
    except InvalidMessage as error:
        assert str(error)
        return
    assert np.isfinite([frame.capture_time, frame.ingest_time, frame.scored_time]).all()
    assert isinstance(frame.source.partition, int) and isinstance(frame.source.offset, int)


@given(hostile_containers(clip().to_bytes()))
def test_a_hostile_clip_container_is_decoded_or_refused(data: bytes) -> None:
    try:
        decoded = Clip.from_bytes(data)
    except InvalidMessage as error:
        assert str(error)
        return
    assert decoded.frames and np.isfinite([decoded.window_start, decoded.window_end]).all()
    assert len({frame.features.shape for frame in decoded.frames}) == 1


def test_a_container_listing_a_million_empty_blobs_is_refused() -> None:
    valid = scored_frame().to_bytes()
    header_size = int.from_bytes(valid[4:8])
    lying = valid[8:8 + header_size].replace(b'"blob_sizes":[', b'"blob_sizes":[' + b"0," * 1_000_000)
    with pytest.raises(InvalidMessage, match="blobs listed"):
        ScoredFrame.from_bytes(valid[:4] + len(lying).to_bytes(4) + lying + valid[8 + header_size:])


OUTCOME = WindowOutcome.model_validate({
    "schema": 1, "event_id": "w1", "site": "s", "camera": "c", "window_start": 0.0, "window_end": 4.0,
    "label": "wave", "confidence": 0.9, "top_k": [{"label": "wave", "confidence": 0.9}], "frames": [],
    "candidates": 32, "budget": 8, "shed": False, "incomplete": False, "selector_version": "m/1",
    "model_version": "m/1", "published_at": 5.0, "outcome": "action",
    "latency": {"ingest": 0, "score": 0, "select": 0, "classify": 0, "processing": 0, "end_to_end": 0},
})


@given(hostile_events(Label(event_id="w1", label="wave", source="t", labelled_at=1.0)))
def test_a_hostile_label_joins_or_is_refused(value: bytes) -> None:
    try:
        joined = join_label(value, {"w1": OUTCOME}, {"wave", "idle"})
    except InvalidMessage as error:
        assert str(error)
        return
    assert joined.label.event_id == "w1" and joined.label.schema_version == 1


@given(hostile_events(ModelUpdate(model="m", alias="production", version="3", at=1.0)))
def test_a_hostile_model_update_parses_or_is_refused(value: bytes) -> None:
    try:
        update = parse_event(ModelUpdate, value)
    except InvalidMessage as error:
        assert str(error) and len(str(error)) < 500  # the reason names the problem, not the whole input
        return
    assert update.schema_version == 1 and isinstance(update.version, str)
