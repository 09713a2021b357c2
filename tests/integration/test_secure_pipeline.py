"""The stream on the secure broker (SCRAM over TLS, ACLs) with least-privilege principals: the site's camera
adapter, the selector, the classifier and the archive sink each connect as their own user; the site reads its
actions. No password appears in any process's (or the broker's) log, /metrics page or dead-letter record, in
plain, URL-encoded or base64 form."""

from __future__ import annotations

import base64
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from confluent_kafka import Consumer, Producer
from typer.testing import CliRunner

from actionstream.cli import app
from infra.kafka.broker import KafkaBroker
from infra.process import ManagedProcess, tail
from infra.rtsp.publisher import FeedPublisher
from processors.archive.storage import Kind, list_segments
from streams.kafka_properties import read_properties
from streams.schemas import ActionEvent
from streams.settings import KafkaSettings, StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all, free_port, processor_env

pytestmark = pytest.mark.integration

GARBAGE_FRAMES = 20
HTTP_PASSWORD = "pipeline-metrics-secret-4"


def _secret_forms(secret: str, user: str) -> set[str]:
    return {secret, urllib.parse.quote(secret, safe=""), base64.b64encode(secret.encode()).decode(),
            base64.b64encode(f"{user}:{secret}".encode()).decode()}


def _site_actions(site: KafkaSettings, topic: str, group: str, wanted: int, timeout_s: float,
                  processes: list[ManagedProcess]) -> list[ActionEvent]:
    """Read the site's actions as the site (its own group prefix) until `wanted` arrived."""
    consumer = Consumer({**site.client_config(), "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "isolation.level": "read_committed"})
    consumer.subscribe([topic])
    events: list[ActionEvent] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(events) < wanted:
            if time.monotonic() > deadline:
                logs = "\n".join(tail(process.log_file, 25) for process in processes)
                raise AssertionError(f"{len(events)} of {wanted} action events in {timeout_s:.0f} s\n{logs}")
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            events.append(ActionEvent.model_validate_json(message.value()))
    finally:
        consumer.close()
    return events


def test_pipeline_on_least_privilege_principals_leaks_no_secret(
    secure_broker: KafkaBroker, secure_admin: KafkaSettings, tiny_bundle: Path, tmp_path: Path,
    publish: Callable[..., FeedPublisher], processes: Callable[..., ManagedProcess],
) -> None:
    site_file, platform_dir = tmp_path / "site.properties", tmp_path / "platform"
    for args in (["sites", "add", SITE, "--out", str(site_file)],
                 ["sites", "platform", "--out-dir", str(platform_dir),
                  "--process", "actionstream-selector", "--process", "actionstream-classifier",
                  "--process", "actionstream-archive"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    prefix = secure_admin.topic_prefix
    site = KafkaSettings(properties_file=site_file, topic_prefix=prefix)
    # A secured cluster needs the platform's HTTP credential too: without it the processes refuse to serve /metrics.
    http_password_file = tmp_path / "http.password"
    http_password_file.write_text(HTTP_PASSWORD)
    http_password_file.chmod(0o600)
    base = processor_env(StreamsSettings(kafka=secure_admin), str(tiny_bundle),
                         ACTIONSTREAM_HTTP_AUTH__PASSWORD_FILE=str(http_password_file))
    metrics_ports = {name: free_port() for name in ("cameras", "selector", "classifier", "archive")}

    def env(name: str, properties: Path) -> dict[str, str]:
        return {**base, "ACTIONSTREAM_KAFKA__PROPERTIES_FILE": str(properties),
                "ACTIONSTREAM_METRICS_PORT": str(metrics_ports[name])}

    publisher = publish(f"{prefix}secure-cam")
    config = tmp_path / "cameras.yaml"
    config.write_text(yaml.safe_dump({"site": SITE, "cameras": [
        {"id": "cam-1", "kind": "rtsp", "url": publisher.url, "sample_fps": 8.0}]}))
    started = [
        processes("selector", ["selector", "run"], env("selector", platform_dir / "actionstream-selector.properties")),
        processes("classifier", ["classifier", "run"],
                  env("classifier", platform_dir / "actionstream-classifier.properties")),
        processes("cameras", ["cameras", "run", "--config", str(config)], env("cameras", site_file)),
        processes("archive", ["archive", "sink"], {**env("archive", platform_dir / "actionstream-archive.properties"),
                                                   "ACTIONSTREAM_ARCHIVE__ROOT": str(tmp_path / "archive")}),
    ]
    # Garbage from the site reaches the dead-letter topic through the selector, with its reason headers.
    producer = Producer(site.client_config())
    for index in range(GARBAGE_FRAMES):
        producer.produce(topic_name(Topic.FRAMES, SITE, prefix), value=b"\x00" * index, key=b"garbage")
    assert producer.flush(30) == 0

    events = _site_actions(site, topic_name(Topic.ACTIONS, SITE, prefix), f"{prefix}site-{SITE}.test", 3, 150,
                           started)
    assert all(event.camera == "cam-1" for event in events)
    deadline = time.monotonic() + 30.0  # the archive sink keeps the site's frames and outcomes (flushed every 2 s)
    while {segment.kind for segment in list_segments(tmp_path / "archive", site=SITE)} != {Kind.FRAMES, Kind.OUTCOMES}:
        assert time.monotonic() < deadline, tail(started[-1].log_file, 25)
        time.sleep(1.0)
    assert all(process.is_running() for process in started)

    authorization = "Basic " + base64.b64encode(f"actionstream:{HTTP_PASSWORD}".encode()).decode()
    metrics_pages = [urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": authorization}), timeout=10).read().decode()
        for port in metrics_ports.values()]
    letters = consume_all(StreamsSettings(kafka=secure_admin), topic_name(Topic.DEADLETTER, prefix=prefix))
    assert sum(letter.key() == b"garbage" for letter in letters) == GARBAGE_FRAMES
    for process in started:
        process.stop(timeout_s=20.0)
    logs = [path.read_text(errors="replace") for path in (*(process.log_file for process in started),
                                                          secure_broker.state_dir / "server.log")]
    letter_bytes = [b"".join([letter.value() or b"", *(value or b"" for _name, value in letter.headers() or [])])
                    for letter in letters]
    assert all("actionstream_" in page for page in metrics_pages) and all(logs)

    credentials = [read_properties(path) for path in (site_file, *sorted(platform_dir.glob("*.properties")),
                                                      secure_admin.properties_file)]
    for properties in credentials:
        for form in _secret_forms(properties["sasl.password"], properties["sasl.username"]):
            for text in (*logs, *metrics_pages):
                assert form not in text, f"a password of {properties['sasl.username']} leaked"
            assert not any(form.encode() in letter for letter in letter_bytes)
    for text in (*logs, *metrics_pages):
        assert HTTP_PASSWORD not in text, "the HTTP password leaked"
