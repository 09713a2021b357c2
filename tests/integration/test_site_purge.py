"""`actionstream sites purge`: a site's records leave its own topics, its archive segments and drift reports go,
older than a date first and then all of them; another site's data stays."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Producer
from typer.testing import CliRunner

from actionstream.cli import app
from processors.archive.storage import Kind, list_segments, segment_path
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all

pytestmark = pytest.mark.integration

OTHER = "other-site"
OLD = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
CUTOFF = "2026-02-01"


def test_purge_before_a_date_then_everything(streams_settings: StreamsSettings, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    kafka = streams_settings.kafka
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("ACTIONSTREAM_ARCHIVE__ROOT", str(tmp_path / "archive"))
    monkeypatch.setenv("ACTIONSTREAM_REPORTS__REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("ACTIONSTREAM_FEATURES__DATA_DIR", str(tmp_path / "features"))
    frames, actions = topic_name(Topic.FRAMES, SITE, kafka.topic_prefix), topic_name(Topic.ACTIONS, SITE,
                                                                                       kafka.topic_prefix)
    producer = Producer(kafka.client_config())
    for index in range(6):  # the first three in January, the rest now; one partition keeps them in order
        stamp = int((OLD + index) * 1000) if index < 3 else None
        producer.produce(frames, b"frame", key=b"cam", partition=0, **({"timestamp": stamp} if stamp else {}))
    producer.produce(actions, b"action", key=b"cam")
    assert producer.flush(30) == 0

    archive = tmp_path / "archive"
    for site in (SITE, OTHER):
        for start in (int(OLD), int(OLD) + 40 * 86_400):
            path = segment_path(archive, Kind.FRAMES, site, start, "cam")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"segment")
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in (f"{SITE}_cam_camera_1-frames.html", f"{SITE}_cam_camera_2-frames.html", f"{OTHER}_cam-frames.html"):
        (reports / name).write_text("<html/>")
    os.utime(reports / f"{SITE}_cam_camera_1-frames.html", (OLD, OLD))

    first = CliRunner().invoke(app, ["sites", "purge", SITE, "--before", CUTOFF])
    assert first.exit_code == 0, first.output
    assert f"{frames}: 3 records deleted" in first.output and f"{actions}: 0 records deleted" in first.output
    assert "archive: 1 segments deleted" in first.output and "drift reports: 1 deleted" in first.output
    assert len(consume_all(streams_settings, frames, idle_s=1.0)) == 3

    everything = CliRunner().invoke(app, ["sites", "purge", SITE])
    assert everything.exit_code == 0, everything.output
    assert f"{frames}: 3 records deleted" in everything.output and f"{actions}: 1 records deleted" in everything.output
    assert consume_all(streams_settings, frames, idle_s=1.0) == []
    assert list_segments(archive, site=SITE) == [] and len(list_segments(archive, site=OTHER)) == 2
    assert [path.name for path in reports.iterdir()] == [f"{OTHER}_cam-frames.html"]
