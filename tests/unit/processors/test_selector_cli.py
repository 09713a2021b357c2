"""`actionstream selector run --stage`: both stages, or one of them per process; what cannot run is refused
before anything starts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from actionstream.cli import app


def test_the_help_names_the_stages() -> None:
    result = CliRunner().invoke(app, ["selector", "run", "--help"])
    assert result.exit_code == 0
    assert "--stage" in result.output and "score" in result.output and "window" in result.output


def test_an_unknown_stage_is_refused() -> None:
    result = CliRunner().invoke(app, ["selector", "run", "--stage", "scoring"])
    assert result.exit_code == 2 and "both, score or window" in result.output


def test_a_score_process_needs_the_batched_stage_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONSTREAM_STAGE1__ENGINE", "faust")
    result = CliRunner().invoke(app, ["selector", "run", "--stage", "score"])
    assert result.exit_code == 2 and "batched" in result.output
