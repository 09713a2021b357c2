"""`actionstream topics list` and `actionstream schemas export` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from streams.cli import register
from streams.schemas import PUBLISHED_EVENTS
from streams.topics import catalogue_topics


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture(autouse=True)
def _no_topic_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTIONSTREAM_KAFKA__TOPIC_PREFIX", raising=False)


def _listed_names(output: str) -> list[str]:
    return [line.split()[0] for line in output.splitlines() if line.strip()]


def test_topics_list_prints_every_catalogue_topic(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["topics", "list"])
    assert result.exit_code == 0, result.output
    assert _listed_names(result.output) == list(catalogue_topics(["site-a"]))


def test_topics_list_for_two_sites_with_prefix(app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__TOPIC_PREFIX", "dev.")
    result = CliRunner().invoke(app, ["topics", "list", "--site", "north", "--site", "south"])
    assert result.exit_code == 0, result.output
    assert _listed_names(result.output) == list(catalogue_topics(["north", "south"], "dev."))
    assert "dev.frames.north" in result.output
    camera_status = next(line for line in result.output.splitlines() if line.startswith("dev.camera-status.north"))
    assert "retention=compact" in camera_status


def test_schemas_export_writes_every_published_event(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["schemas", "export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for file_name, event in PUBLISHED_EVENTS.items():
        assert json.loads((tmp_path / file_name).read_text()) == event.model_json_schema(by_alias=True)
