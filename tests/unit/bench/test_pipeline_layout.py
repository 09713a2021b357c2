"""The pipeline bench's selector processes: how many score processes a trial starts and which workers are the
selector's (their CPU is split by phase together)."""

from __future__ import annotations

from typer.testing import CliRunner

from actionstream.cli import app
from bench.pipeline import scorer_names, selector_processes


def test_score_processes_are_named_in_order_and_layout_one_has_none() -> None:
    assert scorer_names(0) == []
    assert scorer_names(1) == ["scorer"]
    assert scorer_names(3) == ["scorer", "scorer2", "scorer3"]


def test_the_selector_s_processes_are_its_score_processes_and_its_window_process() -> None:
    workers = ["scorer", "scorer2", "selector", "classifier", "cameras"]
    assert selector_processes(workers) == ["scorer", "scorer2", "selector"]


def test_more_score_processes_need_the_split_layout() -> None:
    result = CliRunner().invoke(app, ["bench", "pipeline", "--scorers", "2", "--selector-layout", "one"],
                                env={"COLUMNS": "200"})  # the message on one line of the error box
    assert result.exit_code == 2
    assert "more than one score process needs --selector-layout split" in result.output
