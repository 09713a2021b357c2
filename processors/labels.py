"""Joining late labels to window outcomes, with a reason for every label that cannot be used (it goes to the
dead-letter topic): malformed, an event id with no known window, a label the model does not know."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from streams.schemas import InvalidMessage, Label, WindowOutcome, parse_event


@dataclass(frozen=True)
class JoinedLabel:
    label: Label
    outcome: WindowOutcome

    @property
    def correct(self) -> bool:
        return self.label.label == self.outcome.label


def join_label(value: bytes | None, outcomes: Mapping[str, WindowOutcome], classes: Collection[str]) -> JoinedLabel:
    """The label joined to its window's outcome; InvalidMessage says why it cannot be joined."""
    label = parse_event(Label, value)
    outcome = outcomes.get(label.event_id)
    if outcome is None:
        raise InvalidMessage(f"unknown event id {label.event_id!r}: no window outcome with that id is held")
    if label.label not in classes:
        raise InvalidMessage(f"unknown label {label.label!r}: the model knows {', '.join(sorted(classes))}")
    return JoinedLabel(label, outcome)
