"""The remaining platform processes on the secure broker (SCRAM over TLS, ACLs), each as its own least-privilege
principal: the feature sink, the drift job and the retrain worker join their groups (ready), read a record
from their inputs and write a dead letter for it, with no authorization error; their /metrics pages ask for
the platform's HTTP credential. The console reads every site on its principal and shows a site's user only
that site."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from typer.testing import CliRunner

from actionstream.cli import app
from infra.process import ManagedProcess, tail
from streams.deadletter import reason_of
from streams.schemas import CameraStatus
from streams.settings import KafkaSettings, StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all, free_port, processor_env

pytestmark = pytest.mark.integration

HTTP_PASSWORD = "metrics-secret-9"
SITE_PASSWORD = "site-console-secret-3"
OTHER_SITE = "other"
# Process name -> (command, principal, input topic of the garbage record, dead-letter stage).
WORKERS = {
    "features": (["features", "sink"], "actionstream-feature-sink", Topic.SCORED_FRAMES, "feature-sink"),
    "drift": (["drift", "run"], "actionstream-drift", Topic.SCORED_FRAMES, "drift"),
    "retrain": (["retrain", "run"], "actionstream-retrain", Topic.RETRAIN_REQUESTS, "retrain"),
}


def _get(url: str, password: str | None = None) -> int:
    headers = {}
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"actionstream:{password}".encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0  # not listening yet


def _wait_ready(ports: dict[str, int], started: dict[str, ManagedProcess], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    waiting = set(ports)
    while waiting:
        for name in list(waiting):
            assert started[name].is_running(), f"{name} exited:\n{tail(started[name].log_file, 30)}"
            if _get(f"http://127.0.0.1:{ports[name]}/readyz") == 200:
                waiting.discard(name)
        if waiting and time.monotonic() > deadline:
            logs = "\n".join(tail(started[name].log_file, 20) for name in waiting)
            raise AssertionError(f"not ready in {timeout_s:.0f} s: {sorted(waiting)}\n{logs}")
        time.sleep(0.5)


def test_feature_sink_drift_job_and_retrain_worker_on_their_own_principals(
    secure_admin: KafkaSettings, tiny_bundle: Path, tmp_path: Path, processes: Callable[..., ManagedProcess],
) -> None:
    platform_dir = tmp_path / "platform"
    for args in (["sites", "add", SITE, "--out", str(tmp_path / "site.properties")],
                 ["sites", "platform", "--out-dir", str(platform_dir),
                  *[option for _, principal, _, _ in WORKERS.values() for option in ("--process", principal)]]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    password_file = tmp_path / "http.password"
    password_file.write_text(HTTP_PASSWORD)
    password_file.chmod(0o600)
    prefix = secure_admin.topic_prefix
    base = processor_env(StreamsSettings(kafka=secure_admin), str(tiny_bundle),
                         ACTIONSTREAM_HTTP_AUTH__PASSWORD_FILE=str(password_file),
                         ACTIONSTREAM_TRACKING__TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}",
                         ACTIONSTREAM_TRACKING__ARTIFACT_ROOT=str(tmp_path / "artifacts"),
                         ACTIONSTREAM_FEATURES__DATA_DIR=str(tmp_path / "feature_store"),
                         ACTIONSTREAM_JOB__STATE_DIR=str(tmp_path / "drift"),
                         ACTIONSTREAM_REPORTS__REPORTS_DIR=str(tmp_path / "reports"),
                         ACTIONSTREAM_REPORTS__WORKSPACE_DIR=str(tmp_path / "evidently"))
    ports = {name: free_port() for name in WORKERS}
    started = {
        name: processes(name, command, {**base, "ACTIONSTREAM_METRICS_PORT": str(ports[name]),
                                        "ACTIONSTREAM_KAFKA__PROPERTIES_FILE":
                                            str(platform_dir / f"{principal}.properties")})
        for name, (command, principal, _, _) in WORKERS.items()
    }
    _wait_ready(ports, started, timeout_s=90.0)

    producer = Producer(secure_admin.client_config())
    for topic in {topic for _, _, topic, _ in WORKERS.values()}:
        producer.produce(topic_name(topic, prefix=prefix), value=b"\x00garbage", key=b"garbage")
    assert producer.flush(30) == 0

    deadletter = topic_name(Topic.DEADLETTER, prefix=prefix)
    wanted = {stage for _, _, _, stage in WORKERS.values()}
    deadline, stages = time.monotonic() + 60.0, set()
    while not wanted <= stages:
        assert time.monotonic() < deadline, (f"dead letters from {sorted(stages)} of {sorted(wanted)}\n"
                                             + "\n".join(tail(process.log_file, 20) for process in started.values()))
        letters = consume_all(StreamsSettings(kafka=secure_admin), deadletter, idle_s=2.0)
        stages = {reason_of(letter.headers()).get("stage", "") for letter in letters if letter.key() == b"garbage"}

    for name, port in ports.items():
        assert _get(f"http://127.0.0.1:{port}/metrics") == 401, name
        assert _get(f"http://127.0.0.1:{port}/metrics", "wrong") == 401, name
        assert _get(f"http://127.0.0.1:{port}/metrics", HTTP_PASSWORD) == 200, name
    for process in started.values():
        assert process.is_running()
        process.stop(timeout_s=20.0)
    for name, process in started.items():
        log = process.log_file.read_text(errors="replace").lower()
        assert "authorization" not in log and "not authorized" not in log, f"{name}:\n{tail(process.log_file, 30)}"


def _state(url: str, user: str, password: str) -> dict[str, Any]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(url + "/api/state", headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return dict(json.loads(response.read()))


def test_console_on_its_own_principal_shows_a_site_user_only_its_site(
    secure_admin: KafkaSettings, tmp_path: Path, processes: Callable[..., ManagedProcess],
) -> None:
    site_file, platform_dir = tmp_path / "site.properties", tmp_path / "platform"
    for args in (["sites", "add", SITE, "--out", str(site_file)],
                 ["sites", "add", OTHER_SITE, "--out", str(tmp_path / "other.properties")],
                 ["sites", "platform", "--out-dir", str(platform_dir), "--process", "actionstream-console"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    password_file = tmp_path / "http.password"
    password_file.write_text(HTTP_PASSWORD)
    prefix, port = secure_admin.topic_prefix, free_port()
    console = processes("console", ["console", "--port", str(port)], {
        "ACTIONSTREAM_KAFKA__PROPERTIES_FILE": str(platform_dir / "actionstream-console.properties"),
        "ACTIONSTREAM_KAFKA__TOPIC_PREFIX": prefix,
        "ACTIONSTREAM_SITES": json.dumps([SITE, OTHER_SITE]),
        "ACTIONSTREAM_HTTP_AUTH__PASSWORD_FILE": str(password_file),
        "ACTIONSTREAM_CONSOLE__SITE_PASSWORDS": json.dumps({SITE: SITE_PASSWORD}),
        "ACTIONSTREAM_CONSOLE__PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",
    })
    # Each camera's status from its own site's principal (a site may write only its own status topic).
    for site, properties in ((SITE, site_file), (OTHER_SITE, tmp_path / "other.properties")):
        producer = Producer(KafkaSettings(properties_file=properties, topic_prefix=prefix).client_config())
        status = CameraStatus(site=site, camera="cam-1", state="up", reason="streaming")
        producer.produce(topic_name(Topic.CAMERA_STATUS, site, prefix), value=status.to_json_bytes(), key=status.key())
        assert producer.flush(30) == 0

    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60.0
    while _get(url + "/readyz") != 200 or len(_state(url, "actionstream", HTTP_PASSWORD)["cameras"]) < 2:
        assert console.is_running(), tail(console.log_file, 30)
        assert time.monotonic() < deadline, f"console never showed both sites\n{tail(console.log_file, 30)}"
        time.sleep(0.5)
    assert _get(url + "/api/state") == 401
    assert _get(url + "/metrics", HTTP_PASSWORD) == 200
    seen = _state(url, SITE, SITE_PASSWORD)
    assert seen["sites"] == [SITE] and [camera["site"] for camera in seen["cameras"]] == [SITE]
    console.stop(timeout_s=20.0)
    log = console.log_file.read_text(errors="replace").lower()
    assert "authorization" not in log and HTTP_PASSWORD not in log and SITE_PASSWORD not in log, log
