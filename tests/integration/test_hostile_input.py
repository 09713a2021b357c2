"""Hostile records on the real broker: a selector worker dead-letters every one of them with a reason, keeps
running and stays ready (its readiness endpoint, served beside /metrics, says so)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer

from infra.process import ManagedProcess, tail
from streams.deadletter import reason_of
from streams.schemas import FrameHeaders
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all, free_port, processor_env
from tests.unit.fuzz.hostile import JPEG, declaring, scored_frame

pytestmark = pytest.mark.integration


def _hostile_frames() -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    headers = FrameHeaders(site=SITE, camera="cam-x", seq=1, capture_time=time.time(), ingest_time=time.time(),
                           width=16, height=16).to_headers()
    return [
        (declaring(60_000, 60_000), headers),  # a JPEG bomb behind honest-looking headers
        (JPEG[:40], headers),  # truncated
        (JPEG, [*headers, ("seq", b"2")]),  # duplicated header
        (JPEG, [(name, b"nan" if name == "capture_time" else value) for name, value in headers]),
        (JPEG, [(name, b"7" if name == "schema" else value) for name, value in headers]),  # a future version
    ]


def _hostile_scored_frames() -> list[bytes]:
    valid = scored_frame().to_bytes()
    header_size = int.from_bytes(valid[4:8])
    return [
        b"ASR\x01" + (2**32 - 1).to_bytes(4) + valid[8:],  # a header length that lies
        b"XYZ" + valid[3:],  # wrong magic
        valid[:4] + (200_000).to_bytes(4) + b"[" * 100_000 + b"]" * 100_000,  # nested past the parser's limit
        valid[:4] + (header_size + 10).to_bytes(4) + valid[8:8 + header_size].replace(
            b'"blob_sizes":[', b'"blob_sizes":[0,0,0,0,0,') + valid[8 + header_size:],
    ]


def _readiness(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


def test_hostile_records_become_dead_letters_and_the_worker_stays_up_and_ready(
    streams_settings: StreamsSettings, tiny_bundle: Path, processes: Callable[..., ManagedProcess]
) -> None:
    port = free_port()
    env = processor_env(streams_settings, str(tiny_bundle), ACTIONSTREAM_METRICS_PORT=str(port))
    worker = processes("selector", ["selector", "run"], env)
    deadline = time.monotonic() + 90
    while _readiness(port)[0] != 200:
        assert time.monotonic() < deadline, f"never ready: {_readiness(port)}\n{tail(worker.log_file, 30)}"
        time.sleep(1.0)

    producer = Producer(streams_settings.kafka.client_config())
    frames_topic = topic_name(Topic.FRAMES, SITE, streams_settings.kafka.topic_prefix)
    scored_topic = topic_name(Topic.SCORED_FRAMES, prefix=streams_settings.kafka.topic_prefix)
    frames, scored = _hostile_frames(), _hostile_scored_frames()
    for value, headers in frames:
        producer.produce(frames_topic, value=value, key=b"cam-x", headers=headers)
    for value in scored:
        producer.produce(scored_topic, value=value, key=b"site-t/cam-x")
    assert producer.flush(30) == 0

    deadletter_topic = topic_name(Topic.DEADLETTER, prefix=streams_settings.kafka.topic_prefix)
    deadline = time.monotonic() + 60
    while len(letters := consume_all(streams_settings, deadletter_topic, idle_s=1.0)) < len(frames) + len(scored):
        assert time.monotonic() < deadline, f"{len(letters)} dead letters\n{tail(worker.log_file, 30)}"
    reasons = [reason_of(letter.headers()) for letter in letters]
    assert len(letters) == len(frames) + len(scored)
    assert sorted(reason["stage"] for reason in reasons) == ["stage1"] * len(frames) + ["stage2"] * len(scored)
    texts = " | ".join(reason["reason"] for reason in reasons)
    for expected in ("JPEG image too large: 60000x60000", "duplicated frame headers: seq", "not a finite time",
                     "unsupported frame schema version 7", "truncated scored-frame record", "bad magic",
                     "maximum recursion depth", "7 blobs, expected 2"):
        assert expected in texts
    assert worker.is_running()
    assert _readiness(port) == (200, {"ready": True, "checks": {"model": True, "partitions": True}})
