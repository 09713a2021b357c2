"""Liveness, readiness and /metrics on one port, over real HTTP."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.health import Health, HttpCredentialMissing, serve_health


@pytest.fixture
def served() -> Iterator[tuple[Health, str]]:
    health = Health()
    server = serve_health(0, "model", "partitions", health=health)
    yield health, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_process_is_live_at_once_and_ready_once_every_check_passed(served: tuple[Health, str]) -> None:
    health, url = served
    assert _get(url + "/healthz")[0] == 200
    status, body = _get(url + "/readyz")
    assert status == 503 and json.loads(body) == {"ready": False, "checks": {"model": False, "partitions": False}}
    health.passed("model")
    health.on_assign(None, [])  # an empty assignment counts: a spare worker is a hot standby
    status, body = _get(url + "/readyz")
    assert status == 200 and json.loads(body)["ready"] is True


def test_a_probe_is_asked_at_every_request(served: tuple[Health, str]) -> None:
    health, url = served
    health.passed("model")
    health.passed("partitions")
    reachable = [True]
    health.probe("broker", lambda: reachable[0])
    assert _get(url + "/readyz")[0] == 200
    reachable[0] = False
    status, body = _get(url + "/readyz")
    assert status == 503 and json.loads(body)["checks"]["broker"] is False


def test_metrics_are_served_beside_the_health_paths(served: tuple[Health, str]) -> None:
    status, body = _get(served[1] + "/metrics")
    assert status == 200 and b"python_info" in body


def test_a_check_nobody_required_does_not_block_readiness() -> None:
    health = Health()
    health.passed("model")
    assert health.report() == (True, {})


BARE_SERVER = re.compile(r"import start_http_server|start_http_server\(")


def test_no_process_serves_metrics_without_its_health_endpoints() -> None:
    """Every entry point serves /metrics through serve_health, never prometheus_client's bare server."""
    root = Path(__file__).resolve().parents[3]
    offenders = [str(path.relative_to(root)) for package in ("actionstream", "streams", "processors", "infra")
                 for path in (root / package).rglob("*.py") if BARE_SERVER.search(path.read_text())]
    assert offenders == []


def test_a_secured_cluster_without_an_http_credential_refuses_to_serve_metrics(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """Fail closed: SASL towards Kafka with an open /metrics page would show every site's camera names."""
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    for name in ("ACTIONSTREAM_HTTP_AUTH__PASSWORD", "ACTIONSTREAM_HTTP_AUTH__PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(HttpCredentialMissing, match="ACTIONSTREAM_HTTP_AUTH__PASSWORD_FILE"):
        serve_health(0, health=Health())

    password_file = tmp_path / "http.password"
    password_file.write_text("s3cret\n")
    monkeypatch.setenv("ACTIONSTREAM_HTTP_AUTH__PASSWORD_FILE", str(password_file))
    server = serve_health(0, health=Health())
    try:
        status, _ = _get(f"http://127.0.0.1:{server.server_address[1]}/metrics")
        assert status == 401
    finally:
        server.shutdown()
        server.server_close()


def test_a_client_that_hung_up_leaves_no_traceback(capsys: pytest.CaptureFixture[str],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    server = serve_health(0, health=Health())
    try:
        for error in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset"), ValueError("bug")):
            try:
                raise error
            except (OSError, ValueError):
                server.handle_error(None, ("127.0.0.1", 1))
    finally:
        server.shutdown()
        server.server_close()
    assert capsys.readouterr().err == ""  # socketserver's default prints every traceback to stderr
    failures = [record for record in caplog.records if record.levelname == "WARNING"]
    assert len(failures) == 1 and "ValueError: bug" in caplog.text  # a real failure keeps its traceback
