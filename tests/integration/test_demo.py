"""`actionstream demo` end to end, on the session's broker and RTSP server (which it must leave running):
synthetic cameras, the Procfile under honcho (cameras, selector, classifier, labeller), live events and a
summary."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from honcho.environ import parse_procfile

from infra.kafka.broker import KafkaBroker
from infra.prometheus.targets import HONCHO_PORT_STEP
from infra.rtsp.server import RtspServer
from streams.settings import KafkaSettings, StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import consume_all, free_port, free_port_block

REPO_ROOT = Path(__file__).resolve().parents[2]  # the demo runs the checkout's Procfile

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_runs_the_procfile_prints_events_and_a_summary_and_stops_what_it_started(
    broker: KafkaBroker, rtsp_server: RtspServer, tiny_bundle: Path, tmp_path: Path
) -> None:
    unique = uuid.uuid4().hex[:8]
    prefix = f"demo-{unique}."
    env = {
        **os.environ,
        "ACTIONSTREAM_BROKER_PORT": str(broker.settings.port),
        "ACTIONSTREAM_BROKER_STATE_DIR": str(broker.state_dir),
        "ACTIONSTREAM_RTSP_PORT": str(rtsp_server.settings.port),
        "ACTIONSTREAM_RTSP_STATE_DIR": str(rtsp_server.state_dir),
        "ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS": broker.settings.bootstrap_servers,
        "ACTIONSTREAM_KAFKA__TOPIC_PREFIX": prefix,
        "ACTIONSTREAM_MODEL__FOLLOW_UPDATES": "false",
        "ACTIONSTREAM_CLASSIFIER__GROUP_ID": f"classifier-{unique}",
        "ACTIONSTREAM_CLASSIFIER__TRANSACTIONAL_ID": f"classifier-{unique}",
        "OMP_NUM_THREADS": "1",
        "ACTIONSTREAM_MONITORING_PROMETHEUS_PORT": str(free_port()),
        "ACTIONSTREAM_MONITORING_ALERTMANAGER_PORT": str(free_port()),
        "ACTIONSTREAM_MONITORING_RECEIVER_PORT": str(free_port()),
    }
    # --no-drift: a bundle directory cannot be retrained and promoted (the loop's demo needs the registry).
    command = [sys.executable, "-m", "actionstream", "demo", "--cameras", "2", "--seconds", "30", "--site", "demo",
               "--no-drift", "--model", str(tiny_bundle), "--metrics-port", str(free_port_block(
                   len(parse_procfile((REPO_ROOT / "Procfile").read_text()).processes), HONCHO_PORT_STEP)),
               "--min-confidence", "0"]  # the untrained bundle is never sure of an action
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=420, check=False)

    output = result.stdout + result.stderr
    logs = [tmp_path / "var/demo/honcho.log", tmp_path / "var/demo/honcho-cameras.log"]  # the cameras start apart
    diagnostics = output + "".join(f"\n--- {log.name} ---\n" + (log.read_text() if log.exists() else "(none)")
                                   for log in logs)
    assert result.returncode == 0, diagnostics
    # Every Procfile process ran under honcho and stopped cleanly on its SIGTERM.
    stopped = ("cameras", "scorer", "selector", "classifier", "labeller", "features", "archive")
    assert all(f"{name}.1 stopped (rc=0)" in diagnostics for name in stopped), diagnostics
    assert "workers ready after" in result.stdout, diagnostics  # before the cameras publish
    event_lines = [line for line in result.stdout.splitlines() if re.match(r"cam[01] +\d\d:\d\d:\d\d\+4s ", line)]
    assert event_lines, diagnostics
    summary = result.stdout.split("summary:\n", 1)[1]
    counts = dict(re.findall(r"(\w+)=(\d+)", summary.splitlines()[0]))
    assert counts["cameras"] == "2" and int(counts["frames"]) >= 2 * 8 * 10, summary
    assert int(counts["clips"]) >= int(counts["events"]) >= len(event_lines) > 0, summary
    assert "accuracy=" in summary and "latency processing p50=" in summary and "deadletters=" in summary
    assert summary.splitlines()[1].startswith("recall=") and "detection delay" in summary.splitlines()[2]
    figures = json.loads(result.stdout.strip().splitlines()[-1])  # the last line, for scripts
    assert figures["cameras"] == 2 and figures["processing_p99_ms"] is not None, summary
    outcomes_line = next(line for line in summary.splitlines() if line.startswith("outcomes="))
    outcomes = dict(re.findall(r"(\w+)=(\d+)", outcomes_line))
    assert int(outcomes["outcomes"]) >= int(counts["events"]) and int(outcomes["labels"]) > 0, summary
    # Services it did not start are still up; what it started (the feeds, honcho and its processes) is gone.
    assert broker.status().running and rtsp_server.status().running
    assert not list(rtsp_server.state_dir.glob("publish-demo_cam*.pid"))
    assert not (tmp_path / "var/demo/honcho.pid").exists()
    # Prometheus and Alertmanager ran beside the processes, and are gone too.
    assert re.search(r"^alerts fired", summary, re.MULTILINE), summary
    assert (tmp_path / "var/monitoring/prometheus.log").exists()
    assert not list((tmp_path / "var/monitoring").glob("*.pid"))
    assert (tmp_path / "var/data/synthetic/ucfTrainTestlist/classInd.txt").exists()
    settings = StreamsSettings(kafka=KafkaSettings(bootstrap_servers=broker.settings.bootstrap_servers,
                                                   topic_prefix=prefix))
    frames = consume_all(settings, topic_name(Topic.FRAMES, "demo", prefix))
    assert {record.key() for record in frames} == {b"cam0", b"cam1"}
