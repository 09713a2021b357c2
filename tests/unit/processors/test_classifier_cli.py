from __future__ import annotations

import time

from typer.testing import CliRunner

from actionstream.cli import app
from processors.classifier_cli import format_event
from streams.schemas import ActionEvent, HopLatency, LabelScore, SelectedFrame


def _event(shed: bool, incomplete: bool) -> ActionEvent:
    frames = [SelectedFrame(seq=i, capture_time=100.0 + i, score=0.5, topic="frames.demo", partition=0, offset=i)
              for i in range(3)]
    return ActionEvent(
        event_id="id-1", site="demo", camera="cam-2", window_start=100.0, window_end=104.0, label="fall",
        confidence=0.875, top_k=[LabelScore(label="fall", confidence=0.875)], frames=frames, candidates=32,
        budget=4, shed=shed, incomplete=incomplete, selector_version="s/1", model_version="m/2",
        published_at=104.25, latency=HopLatency(ingest=0.01, score=0.02, select=0.1, classify=0.12, processing=0.25,
                                                end_to_end=2.25),
    )


def test_an_event_prints_on_one_line_with_what_an_operator_needs() -> None:
    line = format_event(_event(shed=True, incomplete=False))

    assert "\n" not in line
    assert line.startswith(time.strftime("%H:%M:%S", time.localtime(104.25)) + " demo/cam-2 ")
    assert "+4.0s] fall 0.88 frames 3/4 latency 250 ms (end-to-end 2250 ms) shed" in line
    assert "incomplete" not in line
    assert format_event(_event(shed=False, incomplete=True)).endswith("ms) incomplete")


def test_the_commands_are_registered() -> None:
    runner = CliRunner()
    assert "run" in runner.invoke(app, ["classifier", "--help"]).output
    result = runner.invoke(app, ["tail", "actions", "--help"])
    assert result.exit_code == 0 and "--from-beginning" in result.output
