"""`actionstream labels add|import` against the real broker: valid labels land on `labels.<site>`, keyed by
event id; a file's bad rows are reported by line and not published."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from actionstream.cli import app
from streams.schemas import Label
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all

pytestmark = pytest.mark.integration


def test_labels_from_the_command_line_and_a_file_reach_the_labels_topic(streams_settings: StreamsSettings,
                                                                        tmp_path: Path) -> None:
    env = {"ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS": streams_settings.kafka.bootstrap_servers,
           "ACTIONSTREAM_KAFKA__TOPIC_PREFIX": streams_settings.kafka.topic_prefix}
    runner = CliRunner()
    added = runner.invoke(app, ["labels", "add", "w1", "wave", "--site", SITE, "--source", "alice"], env=env)
    assert added.exit_code == 0 and "published 1 label to site" in added.output, added.output
    csv = tmp_path / "labels.csv"
    csv.write_text("event_id,label\nw2,fall\n,walk\nw3,idle\n")
    imported = runner.invoke(app, ["labels", "import", str(csv), "--site", SITE], env=env)
    assert imported.exit_code == 1  # one row refused
    assert "published 2 labels" in imported.output and f"{csv}:3: refused: event_id" in imported.output

    records = consume_all(streams_settings, topic_name(Topic.LABELS, SITE, streams_settings.kafka.topic_prefix))
    labels = sorted((Label.model_validate_json(record.value()) for record in records), key=lambda label: label.event_id)
    assert [(label.event_id, label.label, label.source) for label in labels] == [
        ("w1", "wave", "alice"), ("w2", "fall", "import"), ("w3", "idle", "import")]
    assert all(record.key() == Label.model_validate_json(record.value()).event_id.encode() for record in records)
