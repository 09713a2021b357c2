"""Scrape targets from a Procfile (honcho's port numbering) and from a user's list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.prometheus.targets import ScrapeTarget, procfile_targets, write_targets


def test_procfile_processes_that_use_port_are_numbered_as_honcho_does(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text("# a comment\n"
                        "cameras: ACTIONSTREAM_METRICS_PORT=$PORT exec actionstream cameras run\n"
                        "labeller: exec actionstream labels simulate\n"
                        "selector: exec actionstream selector run --metrics-port ${PORT}\n")
    assert procfile_targets(procfile, 9464) == [ScrapeTarget("cameras", "127.0.0.1:9464"),
                                                ScrapeTarget("selector", "127.0.0.1:9664")]


def test_a_user_target_is_name_equals_host_port() -> None:
    assert ScrapeTarget.parse("selector=10.0.0.7:9565") == ScrapeTarget("selector", "10.0.0.7:9565")
    for wrong in ("10.0.0.7:9565", "selector=10.0.0.7", "=host:1", "selector=host:port"):
        with pytest.raises(ValueError, match="name=host:port"):
            ScrapeTarget.parse(wrong)


def test_targets_file_is_file_sd_json(tmp_path: Path) -> None:
    path = write_targets(tmp_path / "sd" / "targets.json", [ScrapeTarget("drift", "127.0.0.1:9964")])
    assert json.loads(path.read_text()) == [{"targets": ["127.0.0.1:9964"], "labels": {"process": "drift"}}]
    assert not list(path.parent.glob("*.tmp"))
