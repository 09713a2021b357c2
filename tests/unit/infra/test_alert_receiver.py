"""The webhook receiver records each alert of each notification, firing and resolved; what fired is read back
once per alert."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.alerts.notifications import fired_alerts, read_records
from infra.alerts.receiver import AlertReceiver


def _alert(status: str, camera: str) -> dict[str, object]:
    return {"status": status, "labels": {"alertname": "DriftRaised", "site": "demo", "camera": camera},
            "annotations": {"summary": f"drift on camera demo/{camera}"},
            "startsAt": "2026-11-30T12:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[AlertReceiver]:
    server = AlertReceiver(("127.0.0.1", 0), tmp_path / "notifications.jsonl")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _post(server: AlertReceiver, body: bytes) -> int:
    host, port = server.server_address[:2]
    request = urllib.request.Request(f"http://{host!s}:{port}/alerts", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_every_alert_of_every_notification_is_recorded(receiver: AlertReceiver) -> None:
    firing = {"version": "4", "status": "firing", "alerts": [_alert("firing", "cam1"), _alert("firing", "cam2")]}
    repeated = {"version": "4", "status": "firing", "alerts": [_alert("firing", "cam1")]}
    resolved = {"version": "4", "status": "resolved", "alerts": [_alert("resolved", "cam1")]}
    for payload in (firing, repeated, resolved):
        assert _post(receiver, json.dumps(payload).encode()) == 200

    records = read_records(receiver.out)
    assert [(record.status, record.labels["camera"]) for record in records] == [
        ("firing", "cam1"), ("firing", "cam2"), ("firing", "cam1"), ("resolved", "cam1")]
    fired = fired_alerts(receiver.out)
    assert [(alert.alertname, alert.labels["camera"], alert.summary) for alert in fired] == [
        ("DriftRaised", "cam1", "drift on camera demo/cam1"), ("DriftRaised", "cam2", "drift on camera demo/cam2")]
    assert fired_alerts(receiver.out, since=records[-1].received_at + 1) == []


def test_a_body_that_is_not_json_is_refused_and_nothing_recorded(receiver: AlertReceiver) -> None:
    assert _post(receiver, b"{not json") == 400
    assert read_records(receiver.out) == []
