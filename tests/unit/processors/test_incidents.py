"""The incident tracker: consecutive windows of one action make one incident (start, throttled updates, end),
one missed window is tolerated, a different action takes over from its first window, a silent camera's
incident ends, and the per-camera state round-trips through its wire form."""

from __future__ import annotations

import pytest

from processors.incidents import CameraState, apply_window, expire, incident_id, newer
from processors.settings import IncidentSettings
from streams.schemas import HopLatency, Incident, LabelScore, WindowOutcome

HOP = 2.0
SETTINGS = IncidentSettings(max_missed_windows=1, update_interval_s=10.0, silent_end_s=30.0)


def _outcome(start: float, label: str, confidence: float = 0.8) -> WindowOutcome:
    latency = HopLatency(ingest=0, score=0, select=0, classify=0, processing=0, end_to_end=0)
    return WindowOutcome(
        outcome="idle" if label == "idle" else "action", event_id=f"w{start:g}", site="s", camera="c",
        window_start=start, window_end=start + 4.0, label=label, confidence=confidence,
        top_k=[LabelScore(label=label, confidence=confidence)], frames=[], candidates=32, budget=4, shed=False,
        incomplete=False, selector_version="m/1", model_version="m/1", published_at=start + 4.0, latency=latency,
    )


def _run(labels: dict[float, str]) -> tuple[CameraState, list[Incident]]:
    """Windows (start -> label) in order; a start absent from the dict is a window that never arrived."""
    state, records = CameraState("s", "c"), []
    for start, label in labels.items():
        assert not state.is_replay(start)
        transition = apply_window(state, _outcome(start, label), SETTINGS, HOP, now=start + 5.0)
        state = transition.state
        records += transition.incidents
    return state, records


def _phases(records: list[Incident]) -> list[tuple[str, str, float, float]]:
    return [(record.phase, record.label, record.start, record.end) for record in records]


def test_consecutive_windows_of_one_action_make_one_incident_with_throttled_updates() -> None:
    windows = {start: "wave" for start in (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0)}
    state, records = _run({**windows, 14.0: "idle", 16.0: "idle"})
    # An update once the incident has grown by the update interval (10 s), not one per window.
    assert _phases(records) == [("start", "wave", 0.0, 4.0), ("update", "wave", 0.0, 14.0),
                                ("end", "wave", 0.0, 16.0)]
    assert [record.sequence for record in records] == [0, 1, 2]
    assert {record.incident_id for record in records} == {incident_id("s", "c", 0.0)}
    assert records[-1].windows == 7 and records[-1].end_reason == "idle"
    assert state.open is None and state.last_window_start == 16.0


def test_one_missed_window_is_tolerated() -> None:
    _, records = _run({0.0: "wave", 2.0: "idle", 4.0: "wave", 6.0: "fall", 8.0: "wave"})
    assert _phases(records) == [("start", "wave", 0.0, 4.0)]


def test_a_window_that_never_arrived_counts_as_a_miss() -> None:
    _, tolerated = _run({0.0: "wave", 4.0: "wave"})
    _, ended = _run({0.0: "wave", 6.0: "wave"})
    assert _phases(tolerated) == [("start", "wave", 0.0, 4.0)]
    assert _phases(ended) == [("start", "wave", 0.0, 4.0), ("end", "wave", 0.0, 4.0), ("start", "wave", 6.0, 10.0)]
    assert ended[1].end_reason == "windows missing"


def test_another_action_takes_over_from_its_first_window() -> None:
    state, records = _run({0.0: "wave", 2.0: "wave", 4.0: "fall", 6.0: "fall"})
    assert _phases(records) == [("start", "wave", 0.0, 4.0), ("end", "wave", 0.0, 6.0), ("start", "fall", 4.0, 10.0)]
    assert records[1].end_reason == "another action: fall"
    assert state.open is not None and state.open.windows == 2


def test_an_idle_camera_opens_no_incident() -> None:
    state, records = _run({0.0: "idle", 2.0: "idle"})
    assert records == [] and state.open is None


def test_a_silent_camera_ends_its_incident_once() -> None:
    state, _ = _run({0.0: "wave"})
    assert expire(state, SETTINGS, now=state.updated_at + 29.0) is None
    transition = expire(state, SETTINGS, now=state.updated_at + 31.0)
    assert transition is not None
    [end] = transition.incidents
    assert (end.phase, end.end_reason, end.sequence) == ("end", "camera silent", 1)
    assert expire(transition.state, SETTINGS, now=state.updated_at + 60.0) is None


def test_a_window_at_or_before_the_last_one_is_a_replay() -> None:
    state, _ = _run({0.0: "wave", 2.0: "wave"})
    assert state.is_replay(2.0) and state.is_replay(0.0) and not state.is_replay(4.0)


def test_state_round_trips_and_a_restore_never_moves_a_camera_back() -> None:
    state, _ = _run({0.0: "wave", 2.0: "idle"})
    assert CameraState.from_bytes(state.to_bytes()) == state
    older, _ = _run({0.0: "wave"})
    assert newer(state, older) == state
    assert newer(older, state) == state
    assert newer(None, older) == older


def test_an_unknown_state_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        CameraState.from_bytes(b'{"version": 99, "site": "s", "camera": "c"}')
