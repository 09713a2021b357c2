"""Labels joined to outcomes in bounded memory, and the observed figures per camera and model version."""

from __future__ import annotations

import pytest

from processors.drift.joins import ObservedLabels, OutcomeIndex
from processors.labels import JoinedLabel, join_label
from streams.schemas import InvalidMessage, Label
from tests.support.features import make_outcome

CLASSES = ["idle", "wave", "walk"]


def label_for(event_id: str, label: str) -> bytes:
    return Label(event_id=event_id, label=label, source="test").to_json_bytes()


def test_the_index_keeps_the_latest_outcomes_without_their_frames() -> None:
    index = OutcomeIndex(capacity=100)
    outcomes = [make_outcome("s", "a", 4.0 * window) for window in range(150)]
    for outcome in outcomes:
        index.add(outcome)
    assert len(index) == 100
    assert outcomes[0].event_id not in index and outcomes[-1].event_id in index
    assert index[outcomes[-1].event_id].frames == []
    with pytest.raises(InvalidMessage, match="unknown event id"):
        join_label(label_for(outcomes[0].event_id, "wave"), index, CLASSES)
    assert join_label(label_for(outcomes[-1].event_id, "walk"), index, CLASSES).correct is False


def test_observed_accuracy_counts_one_label_per_window_of_the_model_version() -> None:
    labels = ObservedLabels(capacity=10)
    right = make_outcome("s", "a", 0.0, label="wave")
    wrong = make_outcome("s", "a", 4.0, label="wave")
    other_model = make_outcome("s", "a", 8.0, label="wave").model_copy(update={"model_version": "m/2"})
    labels.add(JoinedLabel(Label(event_id=right.event_id, label="walk", source="t"), right))
    labels.add(JoinedLabel(Label(event_id=right.event_id, label="wave", source="t"), right))  # relabelled
    labels.add(JoinedLabel(Label(event_id=wrong.event_id, label="idle", source="t"), wrong))
    labels.add(JoinedLabel(Label(event_id=other_model.event_id, label="wave", source="t"), other_model))
    observed = labels.performance("s", "a", "m/1")
    assert observed is not None and observed.labels == 2 and observed.accuracy == 0.5
    assert labels.performance("s", "b", "m/1") is None
    restored = ObservedLabels(capacity=10, state=labels.state())
    assert restored.performance("s", "a", "m/1") == observed


def test_each_camera_keeps_its_latest_labelled_windows() -> None:
    labels = ObservedLabels(capacity=3)
    for window in range(5):
        outcome = make_outcome("s", "a", 4.0 * window, label="wave")
        labels.add(JoinedLabel(Label(event_id=outcome.event_id, label="wave" if window >= 2 else "idle",
                                     source="t"), outcome))
    observed = labels.performance("s", "a", "m/1")
    assert observed is not None and observed.labels == 3 and observed.accuracy == 1.0


def test_observed_accuracy_within_a_time_span() -> None:
    """A camera baseline's observed accuracy comes from its own windows, a later window's from those after it."""
    labels = ObservedLabels(capacity=10)
    for window in range(6):  # windows start at 0, 4, ..., 20; the first three are right, the last three wrong
        outcome = make_outcome("s", "a", 4.0 * window, label="wave")
        labels.add(JoinedLabel(Label(event_id=outcome.event_id, label="wave" if window < 3 else "idle",
                                     source="t"), outcome))
    start = make_outcome("s", "a", 0.0).window_start
    baseline = labels.performance("s", "a", "m/1", since=start, until=start + 12.0)
    after = labels.performance("s", "a", "m/1", since=start + 12.0)
    assert baseline is not None and (baseline.labels, baseline.accuracy) == (3, 1.0)
    assert after is not None and (after.labels, after.accuracy) == (3, 0.0)
    restored = ObservedLabels(capacity=10, state=labels.state())
    assert restored.performance("s", "a", "m/1", since=start, until=start + 12.0) == baseline
