"""Prometheus scrapes endpoints that require the platform credential: the generated config names a password
file (never the secret), the file is owner-only, and a real Prometheus scrapes a guarded /metrics page."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from infra.prometheus.config import SCRAPE_PASSWORD_FILE, write_configs
from infra.prometheus.settings import MonitoringSettings
from infra.prometheus.targets import ScrapeTarget, write_targets
from streams.health import Health, serve_health
from streams.http_auth import BasicAuth, HttpAuthSettings
from tests.integration.conftest import free_port

PASSWORD = "scrape-secret-4711"


def _settings(state_dir: Path, http_auth: HttpAuthSettings) -> MonitoringSettings:
    return MonitoringSettings(state_dir=state_dir, http_auth=http_auth, prometheus_port=free_port())


def test_a_password_from_the_environment_goes_to_an_owner_only_file_not_the_config(tmp_path: Path) -> None:
    settings = _settings(tmp_path, HttpAuthSettings(username="scraper", password=SecretStr(PASSWORD)))
    prometheus_yml, _ = write_configs(settings)
    text = prometheus_yml.read_text()
    assert PASSWORD not in text
    password_file = tmp_path / SCRAPE_PASSWORD_FILE
    assert password_file.read_text() == PASSWORD
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert "username: scraper" in text and f"password_file: {password_file.resolve()}" in text


def test_a_configured_password_file_is_named_as_it_is(tmp_path: Path) -> None:
    secret_file = tmp_path / "http.password"
    secret_file.write_text(PASSWORD)
    prometheus_yml, _ = write_configs(_settings(tmp_path / "state", HttpAuthSettings(password_file=secret_file)))
    assert f"password_file: {secret_file.resolve()}" in prometheus_yml.read_text()
    assert not (tmp_path / "state" / SCRAPE_PASSWORD_FILE).exists()


def test_open_endpoints_get_no_basic_auth(tmp_path: Path) -> None:
    prometheus_yml, _ = write_configs(_settings(tmp_path, HttpAuthSettings(password=None, password_file=None)))
    assert "basic_auth" not in prometheus_yml.read_text()


@pytest.fixture
def guarded_metrics() -> Iterator[ScrapeTarget]:
    server = serve_health(0, health=Health(), auth=BasicAuth({"actionstream": SecretStr(PASSWORD)}))
    yield ScrapeTarget("selector", f"127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_prometheus_scrapes_a_guarded_metrics_page(tmp_path: Path, guarded_metrics: ScrapeTarget) -> None:
    executable = shutil.which("prometheus")
    assert executable is not None, "prometheus missing: `make system-deps` installs Debian's prometheus"
    settings = _settings(tmp_path, HttpAuthSettings(password=SecretStr(PASSWORD)))
    write_targets(settings.targets_file, [guarded_metrics])
    prometheus_yml, _ = write_configs(settings)
    process = subprocess.Popen([executable, f"--config.file={prometheus_yml}",
                                f"--storage.tsdb.path={tmp_path / 'data'}",
                                f"--storage.tsdb.retention.size={settings.retention_size}",
                                f"--web.listen-address={settings.host}:{settings.prometheus_port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, health = time.monotonic() + 30.0, None
        while health != "up":
            assert time.monotonic() < deadline, f"target never scraped (last health: {health})"
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"{settings.prometheus_url}/api/v1/targets", timeout=2) as response:
                    targets = json.loads(response.read())["data"]["activeTargets"]
            except OSError:
                continue  # Prometheus still starting
            health = targets[0]["health"] if targets else None
            assert not targets or "401" not in targets[0]["lastError"], targets[0]["lastError"]
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_the_compose_stack_scrapes_with_the_secret_its_processes_read() -> None:
    compose_dir = Path(__file__).resolve().parents[3] / "infra" / "compose"
    services = yaml.safe_load((compose_dir / "compose.yaml").read_text())["services"]
    (job,) = yaml.safe_load((compose_dir / "prometheus.yml").read_text())["scrape_configs"]
    secret_path = job["basic_auth"]["password_file"]
    assert secret_path == "/run/secrets/http_password" and "http_password" in services["prometheus"]["secrets"]
    served = [name for name, service in services.items()
              if "ACTIONSTREAM_METRICS_PORT" in service.get("environment", {})]
    assert {"selector", "classifier", "console"} <= set(served)
    for name in served:
        assert services[name]["environment"]["ACTIONSTREAM_HTTP_AUTH__PASSWORD_FILE"] == secret_path, name
        assert "http_password" in services[name]["secrets"], name
