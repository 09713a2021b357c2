"""Stage 1 decisions, without Kafka: frame records -> decoded images -> X_i, delta_i and quality stats."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from models.runtime import SmartRuntime
from processors.selector.phases import Phase, timed
from processors.settings import Stage1Settings
from streams.codec import JpegDecodeError, decode_jpeg
from streams.records import FrameRef, ScoredFrame
from streams.schemas import FrameHeaders, InvalidMessage, RawHeaders

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class FrameRecord:
    """A frame record as consumed: value, headers and where it lies in Kafka."""

    value: bytes | None
    headers: RawHeaders | None
    source: FrameRef


@dataclass(frozen=True)
class DecodedFrame:
    meta: FrameHeaders
    jpeg: bytes
    source: FrameRef
    rgb: np.ndarray


@dataclass(frozen=True)
class Refused:
    record: FrameRecord
    reason: str


def decode_records(records: list[FrameRecord], image_size: int, limits: Stage1Settings
                   ) -> tuple[list[DecodedFrame], list[Refused]]:
    """Decode every record to an RGB image of the encoder's input size; refuse what does not parse or is
    larger than the limits (a decoder bomb must not stall the stage)."""
    decoded: list[DecodedFrame] = []
    refused: list[Refused] = []
    for record in records:
        try:
            meta = FrameHeaders.from_headers(record.headers)
            if meta.encoding != "jpeg":
                raise InvalidMessage(f"unsupported frame encoding {meta.encoding!r}")
            if not record.value:
                raise InvalidMessage("empty frame record")
            if len(record.value) > limits.max_frame_bytes:
                raise InvalidMessage(f"oversized frame record: {len(record.value)} > {limits.max_frame_bytes} bytes")
            if meta.width * meta.height > limits.max_frame_pixels:
                raise InvalidMessage(f"oversized frame: {meta.width}x{meta.height} declared")
            with timed(Phase.DECODE):
                rgb = decode_jpeg(record.value, (image_size, image_size))
        except (InvalidMessage, JpegDecodeError) as error:
            refused.append(Refused(record, str(error)))
            continue
        decoded.append(DecodedFrame(meta, record.value, record.source, rgb))
    return decoded, refused


def quality_stats(rgb: np.ndarray) -> tuple[float, float]:
    """(brightness: mean luma 0-255, sharpness: variance of the 4-neighbour Laplacian of the luma)."""
    luma = rgb.astype(np.float32) @ _LUMA
    laplacian = (luma[1:-1, :-2] + luma[1:-1, 2:] + luma[:-2, 1:-1] + luma[2:, 1:-1] - 4 * luma[1:-1, 1:-1])
    return float(luma.mean()), float(laplacian.var())


def score_frames(runtime: SmartRuntime, model_version: str, frames: list[DecodedFrame], pass_size: int
                 ) -> list[ScoredFrame]:
    """The batch through the encoder in passes of `pass_size` frames; X_i travels as float16 (half the bytes, no
    effect on the selectors). `runtime.encode`'s steps are run here one by one, so that each is timed as its own
    phase."""
    if not frames:
        return []
    with timed(Phase.PREPROCESS):
        tensor = runtime.bundle.preprocessing(np.stack([frame.rgb for frame in frames]))
    with timed(Phase.ENCODE):
        representation = runtime.represent(runtime.run_encoder(tensor, pass_size))
    with timed(Phase.PACK):
        deltas = runtime.frame_scores(representation)
        scored_time = time.time()
        scored: list[ScoredFrame] = []
        for frame, features, delta in zip(frames, representation, deltas, strict=True):
            brightness, sharpness = quality_stats(frame.rgb)
            scored.append(ScoredFrame(
                site=frame.meta.site, camera=frame.meta.camera, seq=frame.meta.seq,
                capture_time=frame.meta.capture_time, ingest_time=frame.meta.ingest_time, scored_time=scored_time,
                source=frame.source, delta=float(delta), brightness=brightness, sharpness=sharpness,
                model_version=model_version, jpeg=frame.jpeg, features=features.astype(np.float16),
            ))
    return scored
