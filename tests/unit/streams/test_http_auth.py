"""Basic authentication of the HTTP endpoints: the credential check, and /metrics behind it over real HTTP
while the health paths stay open."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from streams.health import Health, serve_health
from streams.http_auth import BasicAuth, HttpAuthSettings, basic_credentials

PASSWORD = "s3cret:with colon"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_only_the_configured_user_and_password_are_accepted() -> None:
    auth = BasicAuth({"prometheus": SecretStr(PASSWORD), "site-a": SecretStr("other")})
    assert auth.authenticate(_basic("prometheus", PASSWORD)) == "prometheus"
    assert auth.authenticate(_basic("site-a", "other")) == "site-a"
    for header in (None, "", _basic("prometheus", "other"), _basic("site-a", PASSWORD), _basic("nobody", PASSWORD),
                   "Bearer " + PASSWORD, "Basic not-base64!", "Basic " + base64.b64encode(b"no colon").decode()):
        assert auth.authenticate(header) is None, header


def test_a_password_splits_at_the_first_colon_only() -> None:
    assert basic_credentials(_basic("user", "a:b:c")) == ("user", "a:b:c")


def test_the_password_file_wins_and_an_empty_secret_turns_authentication_off(tmp_path: Path) -> None:
    secret_file = tmp_path / "http.password"
    secret_file.write_text(PASSWORD + "\n")
    settings = HttpAuthSettings(password=SecretStr("from-env"), password_file=secret_file)
    assert settings.secret() == SecretStr(PASSWORD)
    assert HttpAuthSettings(password=SecretStr("")).basic_auth() is None
    secret_file.write_text("")
    assert HttpAuthSettings(password_file=secret_file).basic_auth() is None


def test_settings_never_show_the_password() -> None:
    settings = HttpAuthSettings(password=SecretStr(PASSWORD))
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings.model_dump())


@pytest.fixture
def guarded() -> Iterator[str]:
    server = serve_health(0, "model", health=Health(), auth=BasicAuth({"prometheus": SecretStr(PASSWORD)}))
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _status(url: str, authorization: str | None = None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_metrics_need_the_credential_and_the_health_paths_stay_open(guarded: str) -> None:
    status, headers = _status(guarded + "/metrics")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")
    assert _status(guarded + "/metrics", _basic("prometheus", "wrong"))[0] == 401
    assert _status(guarded + "/metrics", _basic("prometheus", PASSWORD))[0] == 200
    assert _status(guarded + "/healthz")[0] == 200
    assert _status(guarded + "/readyz")[0] == 503  # open, and honest: the model check has not passed
