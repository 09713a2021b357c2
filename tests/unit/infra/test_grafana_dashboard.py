"""The Grafana dashboard queries the recording rules' expressions, and promtool parses every one of them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

GRAFANA_DIR = Path(__file__).resolve().parents[3] / "infra" / "grafana"
RECORDING_RULES = GRAFANA_DIR.parent / "prometheus" / "recording_rules.yml"


def _dashboard_queries() -> list[str]:
    dashboard = json.loads((GRAFANA_DIR / "actionstream.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def _recorded() -> dict[str, str]:
    groups = yaml.safe_load(RECORDING_RULES.read_text())["groups"]
    return {rule["expr"]: rule["record"] for group in groups for rule in group["rules"]}


def test_every_panel_query_is_a_recording_rule_expression_and_every_rule_is_shown() -> None:
    queries = _dashboard_queries()
    assert set(queries) <= _recorded().keys()
    assert set(_recorded()) <= set(queries), "a recording rule without a panel"


def test_every_panel_query_parses(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool missing: `make system-deps` installs Debian's prometheus"
    # promtool parses expressions through a rule file: each query becomes a recording rule
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{index}", "expr": query} for index, query in enumerate(_dashboard_queries())]}]}
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_provisioning_points_grafana_at_this_folder() -> None:
    provisioning = yaml.safe_load((GRAFANA_DIR / "provisioning.yml").read_text())
    [provider] = provisioning["providers"]
    assert provisioning["apiVersion"] == 1 and provider["type"] == "file"
    assert provider["options"]["path"].endswith("/infra/grafana")
