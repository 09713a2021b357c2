"""Readiness: judged from /readyz where a process serves it, from its metrics otherwise."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import start_http_server

from actionstream.readiness import Endpoint, is_ready, ready_from_metrics, wait_until_ready


def _metrics(model: float | None, partitions: list[float] | None) -> tuple[CollectorRegistry, str]:
    registry = CollectorRegistry()
    if model is not None:
        Gauge("actionstream_model_version_info", "", ("role", "version"), registry=registry).labels(
            role="classifier", version="m/1").set(model)
    if partitions is not None:
        gauge = Gauge("actionstream_assigned_partitions", "", ("topic",), registry=registry)
        for index, count in enumerate(partitions):
            gauge.labels(topic=f"t{index}").set(count)
    return registry, generate_latest(registry).decode()


@pytest.mark.parametrize(("model", "partitions", "ready"), [
    (1, [0, 3], True),
    (1, None, True),  # a process that does not export its assignment: the model decides
    (1, [0, 0], False),  # no partition yet
    (0, [3], False),  # a version known but not in use
    (None, [3], False),  # no model loaded yet
])
def test_ready_from_metrics(model: float | None, partitions: list[float] | None, ready: bool) -> None:
    assert ready_from_metrics(_metrics(model, partitions)[1]) is ready


@pytest.fixture
def readyz_server() -> Iterator[tuple[Endpoint, dict[str, bool]]]:
    checks = {"model": True, "partitions": False}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ready = all(checks.values())
            body = json.dumps({"ready": ready, "checks": checks}).encode()
            self.send_response(200 if ready else 503)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Endpoint("selector", f"127.0.0.1:{server.server_address[1]}"), checks
    server.shutdown()
    server.server_close()


def test_a_readyz_answer_decides(readyz_server: tuple[Endpoint, dict[str, bool]]) -> None:
    endpoint, checks = readyz_server
    assert not is_ready(endpoint)
    checks["partitions"] = True
    assert is_ready(endpoint)


def test_a_process_without_readyz_is_judged_from_its_metrics() -> None:
    registry, _ = _metrics(1, [2])
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        assert is_ready(Endpoint("classifier", f"127.0.0.1:{server.server_address[1]}"))
    finally:
        server.shutdown()
        thread.join()


def test_a_process_not_listening_yet_is_not_ready() -> None:
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()  # a free port nobody listens on
    assert not is_ready(Endpoint("selector", f"127.0.0.1:{port}"), timeout_s=0.5)


def test_a_not_ready_answer_whose_body_stalls_is_not_ready_and_raises_nothing() -> None:
    """A worker busy starting sent a 503's headers, then not its body in time: the demo's readiness wait once
    stopped with "timed out" 24 s into its 180 s, the read's timeout escaping the HTTP error's handler."""
    stalled = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.flush()
            stalled.wait(5.0)  # the body never comes within the reader's timeout

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert not is_ready(Endpoint("selector", f"127.0.0.1:{server.server_address[1]}"), timeout_s=0.3)
    finally:
        stalled.set()
        server.shutdown()
        server.server_close()


def test_wait_until_ready_polls_until_all_pass_and_names_the_late_ones() -> None:
    answers = {"selector": iter([False, True]), "classifier": iter([True])}
    endpoints = [Endpoint("selector", "a:1"), Endpoint("classifier", "a:2")]

    waited = wait_until_ready(endpoints, timeout_s=5.0, still_running=lambda: True, poll_s=0.01,
                              check=lambda endpoint: next(answers[endpoint.process]))
    assert waited < 5.0

    with pytest.raises(TimeoutError, match=r"selector \(a:1\)"):
        wait_until_ready(endpoints[:1], timeout_s=0.05, still_running=lambda: True, poll_s=0.01,
                         check=lambda _: False)
    with pytest.raises(RuntimeError, match="stopped"):
        wait_until_ready(endpoints, timeout_s=5.0, still_running=lambda: False, check=lambda _: False)
