"""Monitoring against a running pipeline: Prometheus (Debian's) scrapes the real processes, every metric the
rules and the dashboard name is exported by one of them, and an alert reaches the project's receiver through
Alertmanager."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from confluent_kafka import Producer

from infra.process import ManagedProcess, tail
from infra.prometheus.settings import RULES_DIR, MonitoringSettings
from infra.prometheus.stack import MonitoringStack
from infra.prometheus.targets import ScrapeTarget
from infra.rtsp.publisher import FeedPublisher
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, free_port, processor_env

pytestmark = pytest.mark.integration

DASHBOARD = RULES_DIR.parent / "grafana" / "actionstream.json"
_METRIC = re.compile(r"\bactionstream_[a-z0-9_]+")
_HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def referenced_metrics() -> set[str]:
    """Every exported metric the rule files and the dashboard query (recorded series are `actionstream:...`)."""
    exprs = [rule["expr"] for path in MonitoringSettings().rule_files()
             for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]
    exprs += [target["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for target in panel["targets"]]
    return {name for expr in exprs for name in _METRIC.findall(expr)}


def exported_metrics(exposition: str) -> set[str]:
    """Metric and series names a /metrics page declares, labelled metrics without children included."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.add(name)
            if kind == "histogram":
                names.update(name + suffix for suffix in _HISTOGRAM_SERIES)
    return names


def _wait_until(condition: Callable[[], bool], timeout_s: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n" + "\n".join(tail(log, 15) for log in logs))
        time.sleep(1.0)


@pytest.fixture
def monitoring(tmp_path: Path) -> Iterator[MonitoringStack]:
    stack = MonitoringStack(MonitoringSettings(
        prometheus_port=free_port(), alertmanager_port=free_port(), receiver_port=free_port(),
        state_dir=tmp_path / "monitoring", scrape_interval_s=1.0, evaluation_interval_s=1.0))
    yield stack
    stack.stop()


def test_prometheus_scrapes_the_pipeline_and_an_alert_reaches_the_receiver(
    streams_settings: StreamsSettings, tiny_bundle: Path, tmp_path: Path, monitoring: MonitoringStack,
    publish: Callable[..., FeedPublisher], processes: Callable[..., ManagedProcess],
) -> None:
    env = processor_env(streams_settings, str(tiny_bundle))
    ports = {"cameras": free_port(), "selector": free_port(), "classifier": free_port()}
    publisher = publish(f"{streams_settings.kafka.topic_prefix}cam")
    config = tmp_path / "cameras.yaml"
    config.write_text(yaml.safe_dump({"site": SITE, "cameras": [
        {"id": "cam-1", "kind": "rtsp", "url": publisher.url, "sample_fps": 8.0}]}))
    started = [
        processes("selector", ["selector", "run", "--metrics-port", str(ports["selector"])], env),
        processes("classifier", ["classifier", "run", "--metrics-port", str(ports["classifier"])], env),
        processes("cameras", ["cameras", "run", "--config", str(config)],
                  {**env, "ACTIONSTREAM_METRICS_PORT": str(ports["cameras"])}),
    ]
    monitoring.start([ScrapeTarget(name, f"127.0.0.1:{port}") for name, port in ports.items()])
    logs = [process.log_file for process in started] + [monitoring.state_dir / "prometheus.log"]

    def frames_scored_seen_by_prometheus() -> bool:
        result = monitoring.api("query", query='sum(actionstream_records_in_total{stage="stage1"}) > 0')["result"]
        return bool(result)

    _wait_until(frames_scored_seen_by_prometheus, 150, "Prometheus to see stage 1 score frames", logs)
    # Targets are scraped at staggered offsets: one seen up does not mean all were scraped yet.
    _wait_until(lambda: monitoring.target_health() == {name: "up" for name in ports}, 30,
                "every target scraped and up", logs)

    exported: set[str] = set()
    for port in ports.values():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            exported |= exported_metrics(response.read().decode())
    referenced = referenced_metrics()
    assert len(referenced) >= 15
    assert referenced - exported == set(), "named in the rules or the dashboard, exported by no process"

    # Undecodable frames: stage 1 dead-letters them, and DeadLetters fires for stage1.
    producer = Producer(streams_settings.kafka.client_config())
    frames = topic_name(Topic.FRAMES, SITE, streams_settings.kafka.topic_prefix)
    for _ in range(40):
        producer.produce(frames, value=b"\x00" * 64, key=b"cam-1")
    producer.flush(30)

    def dead_letter_alert_recorded() -> bool:
        return any(alert.alertname == "DeadLetters" and alert.labels.get("stage") == "stage1"
                   for alert in monitoring.fired_alerts())

    _wait_until(dead_letter_alert_recorded, 60, "the DeadLetters alert at the receiver",
                [*logs, monitoring.state_dir / "alertmanager.log", monitoring.state_dir / "alert-receiver.log"])
    [alert] = [alert for alert in monitoring.fired_alerts() if alert.alertname == "DeadLetters"]
    assert alert.status == "firing" and alert.summary == "stage stage1 sends records to the dead-letter topic"
    assert all(process.is_running() for process in started)
