"""The deployment files stay in step with the Procfile: every long-running process is a compose service with a
readiness health check and a Prometheus target, and the containers are configured by environment variables only.
(`make deploy-lint` checks the files' syntax: hadolint, compose-go, actionlint.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from honcho.environ import parse_procfile

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "infra" / "compose"


def _procfile() -> dict[str, str]:
    return parse_procfile((ROOT / "Procfile").read_text()).processes


def _services() -> dict[str, Any]:
    return yaml.safe_load((COMPOSE / "compose.yaml").read_text())["services"]


def test_every_procfile_process_is_a_compose_service_running_the_same_command() -> None:
    services = _services()
    for name, command in _procfile().items():
        assert name in services, f"Procfile process {name} has no compose service"
        words = command.split()
        subcommand = words[words.index("actionstream") + 1:][:2]
        assert services[name]["command"][:2] == subcommand


# The console's web app serves /readyz (and /metrics) on its own port.
HTTP_CHECKS = {"console": ("/readyz", 8050)}


def test_every_process_serving_metrics_is_checked_for_readiness_and_scraped() -> None:
    services = _services()
    scraped = {group["labels"]["process"]: group["targets"] for config in
               yaml.safe_load((COMPOSE / "prometheus.yml").read_text())["scrape_configs"]
               for group in config["static_configs"]}
    for name, command in _procfile().items():
        if "$PORT" not in command:
            continue
        path, port = HTTP_CHECKS.get(name, ("/readyz", 9464))
        assert f"http://127.0.0.1:{port}{path}" in " ".join(services[name]["healthcheck"]["test"])
        assert scraped[name] == [f"{name}:{port}"]


def test_prometheus_loads_the_rule_files_of_infra_prometheus() -> None:
    mounts = [volume.split(":")[0] for volume in _services()["prometheus"]["volumes"]]
    for rules in ("alert_rules.yml", "recording_rules.yml"):
        assert f"../prometheus/{rules}" in mounts and (ROOT / "infra" / "prometheus" / rules).exists()


def test_the_containers_take_no_configuration_files_but_the_cameras_list() -> None:
    for name, service in _services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert not source.startswith((".", "/", "$")) or name in ("prometheus", "cameras"), (name, volume)
