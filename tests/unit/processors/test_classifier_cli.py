from __future__ import annotations

import time

from typer.testing import CliRunner

from actionstream.cli import app
from processors.classifier_cli import format_event, format_incident
from streams.schemas import ActionEvent, HopLatency, Incident, LabelScore, SelectedFrame


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


def test_an_incident_prints_on_one_line_with_its_span_and_why_it_ended() -> None:
    incident = Incident(incident_id="0123456789abcdef", sequence=2, phase="end", site="demo", camera="cam-2",
                        label="fall", start=100.0, end=112.0, windows=5, confidence_mean=0.8, confidence_max=0.95,
                        last_event_id="w108", model_version="m/2", end_reason="idle", published_at=113.0)
    line = format_incident(incident)

    assert "\n" not in line
    assert line.startswith(time.strftime("%H:%M:%S", time.localtime(113.0)) + " demo/cam-2 END    fall ")
    assert "(12 s) windows 5 confidence 0.80 (max 0.95) incident 01234567 ended: idle" in line
    assert "tail" in CliRunner().invoke(app, ["tail", "incidents", "--help"]).output
