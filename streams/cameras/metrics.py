"""Prometheus metrics of the camera adapter, labelled by site and camera."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LABELS = ("site", "camera")
_FAST_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)

FRAMES_DECODED = Counter("actionstream_camera_frames_decoded_total", "Frames decoded from the source.", _LABELS)
FRAMES_PUBLISHED = Counter(
    "actionstream_camera_frames_published_total", "Frames acknowledged by Kafka.", _LABELS
)
FRAMES_DROPPED = Counter(
    "actionstream_camera_frames_dropped_total", "Frames not published, by reason.", (*_LABELS, "reason")
)
FRAME_GAPS = Counter("actionstream_camera_frame_gaps_total", "Sampling slots lost (no frame).", _LABELS)
DECODE_SECONDS = Histogram(
    "actionstream_camera_decode_seconds", "Demux + decode time per source frame.", _LABELS, buckets=_FAST_BUCKETS
)
ENCODE_SECONDS = Histogram(
    "actionstream_camera_encode_seconds", "Resize + JPEG time per published frame.", _LABELS, buckets=_FAST_BUCKETS
)
PUBLISH_LATENCY = Histogram(
    "actionstream_camera_publish_latency_seconds", "produce() to broker acknowledgement.", _LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
RECONNECTS = Counter("actionstream_camera_reconnects_total", "Reconnect attempts.", _LABELS)
CAMERA_UP = Gauge("actionstream_camera_up", "1 while the camera delivers frames.", _LABELS)
MESSAGE_BYTES = Counter("actionstream_camera_message_bytes_total", "Bytes of published frame records.", _LABELS)
