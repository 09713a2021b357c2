"""The console with security on: every path but the health checks asks for credentials, the platform's user
sees every site, a site's user only its own (cameras, thumbnails, actions, drift reports, retrain results) and
none of the every-site pages (/metrics, charts) or the promotion."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient
from typer.testing import CliRunner

from actionstream.cli import app
from actionstream.console.access import OPERATOR, ConsoleAccess, Viewer
from actionstream.console.app import ConsoleApp
from actionstream.console.live import LiveHub
from actionstream.console.settings import ConsoleOptions, ConsoleSettings
from actionstream.console.state import ConsoleState
from processors.drift.reports import ReportStore
from processors.drift.settings import ReportSettings
from streams.health import Health
from streams.http_auth import HttpAuthSettings
from streams.schemas import CameraStatus
from tests.unit.actionstream.console.test_app import T0, TOKEN, _clip, _event, _Html

PLATFORM_PASSWORD = "platform-pw"
SITE_PASSWORDS = {"site-a": "a-pw", "site-b": "b-pw"}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


OPERATOR_LOGIN = _basic("actionstream", PLATFORM_PASSWORD)
SITE_A_LOGIN = _basic("site-a", SITE_PASSWORDS["site-a"])


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    reports_dir = tmp_path / "reports"
    store = ReportStore(ReportSettings(reports_dir=reports_dir, workspace_dir=None))
    for site in SITE_PASSWORDS:
        store.save({"data": _Html()}, f"{site}/cam1/training/{T0:.0f}")  # type: ignore[dict-item]
    state = ConsoleState(thumbnails=3, recent_events=10, recent_updates=5)
    for site in SITE_PASSWORDS:
        state.apply_status(CameraStatus(site=site, camera="cam1", state="up", reason="streaming", at=T0))
        state.apply_clip(dataclasses.replace(_clip("cam1", T0, [1]), site=site))
        state.apply_action(_event("cam1", T0, "wave").model_copy(update={"site": site}))
    options = ConsoleOptions(reports_dir=reports_dir, prometheus_url="http://127.0.0.1:9", prometheus_timeout_s=0.5,
                             admin_token=SecretStr(TOKEN),
                             site_passwords={site: SecretStr(password) for site, password in SITE_PASSWORDS.items()})
    settings = ConsoleSettings(sites=list(SITE_PASSWORDS), console=options,
                               http_auth=HttpAuthSettings(password=SecretStr(PLATFORM_PASSWORD)))
    health = Health()
    health.require("feed")
    return TestClient(ConsoleApp(settings, state, LiveHub(), health=health).asgi())


def test_every_page_asks_for_credentials_but_the_health_checks(client: TestClient) -> None:
    for path in ("/", "/static/console.js", "/api/state", "/api/models", "/metrics", "/thumbnails/site-a/cam1/1.jpg",
                 f"/reports/site-a_cam1_training_{T0:.0f}-data.html"):
        for headers in ({}, _basic("actionstream", "wrong"), _basic("site-a", SITE_PASSWORDS["site-b"]),
                        {"Authorization": f"Bearer {PLATFORM_PASSWORD}"}):
            response = client.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["www-authenticate"].startswith("Basic realm=")
    assert client.get("/healthz").json() == {"live": True}
    readiness = client.get("/readyz")
    assert readiness.status_code == 503 and readiness.json() == {"ready": False, "checks": {"feed": False}}


def test_the_platform_user_sees_every_site(client: TestClient) -> None:
    state = client.get("/api/state", headers=OPERATOR_LOGIN).json()
    assert state["sites"] == ["site-a", "site-b"]
    assert {camera["site"] for camera in state["cameras"]} == {"site-a", "site-b"}
    assert client.get("/metrics", headers=OPERATOR_LOGIN).status_code == 200
    assert client.get("/thumbnails/site-b/cam1/1.jpg", headers=OPERATOR_LOGIN).status_code == 200


def test_a_site_user_sees_only_its_own_site(client: TestClient) -> None:
    state = client.get("/api/state", headers=SITE_A_LOGIN).json()
    assert state["sites"] == ["site-a"]
    assert [camera["site"] for camera in state["cameras"]] == ["site-a"]
    assert state["cameras"][0]["reports"] == [f"site-a_cam1_training_{T0:.0f}-data.html"]
    assert [event["site"] for event in state["events"]] == ["site-a"]
    assert client.get("/thumbnails/site-a/cam1/1.jpg", headers=SITE_A_LOGIN).status_code == 200
    assert client.get("/thumbnails/site-b/cam1/1.jpg", headers=SITE_A_LOGIN).status_code == 404
    assert client.get(f"/reports/site-a_cam1_training_{T0:.0f}-data.html", headers=SITE_A_LOGIN).status_code == 200
    assert client.get(f"/reports/site-b_cam1_training_{T0:.0f}-data.html", headers=SITE_A_LOGIN).status_code == 404
    for path in ("/metrics", "/api/charts"):
        assert client.get(path, headers=SITE_A_LOGIN).status_code == 403, path
    promote = client.post("/api/models/promote", json={"version": "1"}, headers={**SITE_A_LOGIN,
                                                                                   "X-Admin-Token": TOKEN})
    assert promote.status_code == 403


def test_the_admin_token_travels_beside_the_login(client: TestClient) -> None:
    wrong = client.post("/api/models/promote", json={"version": "1"},
                        headers={**OPERATOR_LOGIN, "X-Admin-Token": TOKEN + "x"})
    assert wrong.status_code == 403 and wrong.json()["error"] == "the admin token is not valid"
    bad_body = client.post("/api/models/promote", content=b"[]", headers={**OPERATOR_LOGIN, "X-Admin-Token": TOKEN})
    assert bad_body.status_code == 400  # past the login and the token: the request itself is wrong


def test_live_messages_are_filtered_by_the_viewer_s_site() -> None:
    site_a = Viewer("site-a", "site-a")
    assert site_a.sees("site-a") and not site_a.sees("site-b")
    assert site_a.sees(None)  # model updates carry no site: the served model is the platform's
    assert OPERATOR.sees("site-b")


def test_no_credential_configured_means_the_open_demo_console() -> None:
    open_console = ConsoleAccess("actionstream", None, {})
    assert not open_console.enabled and open_console.viewer(None) is OPERATOR
    with pytest.raises(ValueError, match="platform user's name"):
        ConsoleAccess("actionstream", SecretStr("x"), {"actionstream": SecretStr("y")})


def test_the_console_of_a_secured_cluster_refuses_to_start_without_a_login() -> None:
    result = CliRunner().invoke(app, ["console"], env={"ACTIONSTREAM_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
                                                       "ACTIONSTREAM_HTTP_AUTH__PASSWORD": ""})
    assert result.exit_code == 2
    assert "the cluster is secured but the console has no login" in result.output
