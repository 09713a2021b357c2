"""Label files and the label join: valid rows publish, bad rows are named by line, and a label that cannot be
joined to a window says why (the dead-letter reason)."""

from __future__ import annotations

import pytest

from processors.labels import join_label
from streams.labels import parse_label_csv
from streams.schemas import HopLatency, InvalidMessage, Label, LabelScore, WindowOutcome


def test_a_csv_publishes_its_valid_rows_and_names_the_bad_ones_by_line() -> None:
    text = ("event_id,label,source,labelled_at\n"
            "w1,wave,alice,1764000000\n"
            "w2,fall,,\n"
            ",walk,bob,\n"
            "w4,walk,bob,yesterday\n")
    labels, refused = parse_label_csv(text, default_source="import")

    assert [(label.event_id, label.label, label.source) for label in labels] == [("w1", "wave", "alice"),
                                                                                 ("w2", "fall", "import")]
    assert labels[0].labelled_at == 1_764_000_000.0
    assert [row.line for row in refused] == [4, 5]
    assert refused[0].reason.startswith("event_id:") and refused[1].reason.startswith("labelled_at:")


def test_a_csv_without_the_required_columns_is_refused_whole() -> None:
    labels, refused = parse_label_csv("id,class\nw1,wave\n", default_source="import")
    assert labels == [] and len(refused) == 1 and "event_id, label" in refused[0].reason


def _outcome(event_id: str, label: str) -> WindowOutcome:
    latency = HopLatency(ingest=0, score=0, select=0, classify=0, processing=0, end_to_end=0)
    return WindowOutcome(outcome="action", event_id=event_id, site="s", camera="c", window_start=0.0,
                         window_end=4.0, label=label, confidence=0.7, top_k=[LabelScore(label=label, confidence=0.7)],
                         frames=[], candidates=32, budget=4, shed=False, incomplete=False, selector_version="m/1",
                         model_version="m/1", published_at=4.0, latency=latency)


OUTCOMES = {"w1": _outcome("w1", "wave")}
CLASSES = {"wave", "fall", "idle"}


def test_a_label_joins_its_window_and_says_whether_the_model_was_right() -> None:
    right = join_label(Label(event_id="w1", label="wave", source="t").to_json_bytes(), OUTCOMES, CLASSES)
    wrong = join_label(Label(event_id="w1", label="idle", source="t").to_json_bytes(), OUTCOMES, CLASSES)
    assert right.correct and not wrong.correct and right.outcome.event_id == "w1"


@pytest.mark.parametrize("value, reason", [
    (b"not json", "malformed label"),
    (b'{"schema": 1, "event_id": "w1", "label": "wave"}', "malformed label: source"),
    (b'{"schema": 2, "event_id": "w1", "label": "wave", "source": "t"}', "malformed label: schema"),
    (Label(event_id="w9", label="wave", source="t").to_json_bytes(), "unknown event id 'w9'"),
    (Label(event_id="w1", label="dance", source="t").to_json_bytes(), "unknown label 'dance'"),
])
def test_a_label_that_cannot_be_joined_says_why(value: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        join_label(value, OUTCOMES, CLASSES)
