"""The rule files under promtool (Debian's prometheus): syntax, their unit tests, and a generated config."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.prometheus.config import alertmanager_config, write_configs
from infra.prometheus.settings import RULES_DIR, MonitoringSettings
from infra.prometheus.targets import procfile_targets, write_targets

PROMTOOL = shutil.which("promtool")
RUNBOOK = Path(__file__).resolve().parents[3] / "README.md"


def _promtool(*args: str) -> str:
    assert PROMTOOL is not None, "promtool missing: `make system-deps` installs Debian's prometheus"
    result = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _alert_rules() -> list[dict[str, object]]:
    rules = []
    for path in MonitoringSettings().rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [rule for rule in group["rules"] if "alert" in rule]
    return rules


def test_rule_files_are_valid() -> None:
    files = MonitoringSettings().rule_files()
    assert {path.name for path in files} == {"alert_rules.yml", "recording_rules.yml"}
    _promtool("check", "rules", *map(str, files))


@pytest.mark.parametrize("tests_file", sorted(RULES_DIR.glob("*test*.yml")), ids=lambda path: path.name)
def test_rule_unit_tests_pass(tests_file: Path) -> None:
    _promtool("test", "rules", str(tests_file))


def test_every_alert_has_a_test_and_a_runbook_line() -> None:
    tested = "\n".join(path.read_text() for path in RULES_DIR.glob("*test*.yml"))
    runbook = RUNBOOK.read_text().split("## Alerts and runbook", 1)[1].split("\n## ", 1)[0]
    for rule in _alert_rules():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict) and {"summary", "description", "runbook_url"} <= annotations.keys()
        assert f"alertname: {rule['alert']}" in tested, f"{rule['alert']} has no promtool test"
        assert f"`{rule['alert']}`" in runbook, f"{rule['alert']} has no runbook line in README.md"


def test_generated_config_passes_promtool(tmp_path: Path) -> None:
    settings = MonitoringSettings(state_dir=tmp_path)
    write_targets(settings.targets_file, procfile_targets(RULES_DIR.parents[1] / "Procfile", 9464))
    prometheus_yml, _ = write_configs(settings)
    output = _promtool("check", "config", str(prometheus_yml))
    assert "2 rule files found" in output


def test_alertmanager_config_sends_resolved_notifications_to_the_receiver() -> None:
    settings = MonitoringSettings(receiver_port=9999)
    receivers = alertmanager_config(settings)["receivers"]
    assert receivers == [{"name": "actionstream-webhook", "webhook_configs": [
        {"url": "http://127.0.0.1:9999/alerts", "send_resolved": True}]}]


def test_reference_kinds_named_in_the_rules_are_ones_the_drift_job_exports() -> None:
    """A label value no process exports passes promtool and never matches (the metric-name check misses it)."""
    import re
    import typing

    from processors.drift.policy import PolicyRules

    exported = set(typing.get_args(PolicyRules.model_fields["reference_kind"].annotation))
    named = {match for path in RULES_DIR.glob("*rules*.yml")
             for match in re.findall(r'reference_kind="([^"]+)"', path.read_text())}
    assert named <= exported


def test_drift_raised_reads_the_persistent_alert_the_drift_job_exports() -> None:
    """One drifted window is no alert: DriftRaised reads the policy's persistence gauge, not the raw verdict."""
    from processors import metrics

    rules = yaml.safe_load((RULES_DIR / "alert_rules.yml").read_text())
    (drift_raised,) = [rule for group in rules["groups"] for rule in group["rules"]
                       if rule.get("alert") == "DriftRaised"]
    assert metrics.DRIFT_ALERT._name in drift_raised["expr"]
    assert "actionstream_drift_verdict" not in drift_raised["expr"]
