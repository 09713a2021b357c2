"""A batch process lowers its own niceness and its session's autogroup niceness, never raising either."""

from __future__ import annotations

from pathlib import Path

import pytest

from processors import priority
from processors.priority import lower_priority


@pytest.fixture
def increments(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(priority.os, "nice", calls.append)
    return calls


def test_the_session_gets_the_niceness_too(tmp_path: Path, increments: list[int]) -> None:
    autogroup = tmp_path / "autogroup"
    autogroup.write_text("/autogroup-616 nice 0\n")
    lower_priority(19, autogroup)
    assert increments == [19]
    assert autogroup.read_text() == "19"


def test_a_session_already_lower_is_left_alone(tmp_path: Path, increments: list[int]) -> None:
    autogroup = tmp_path / "autogroup"
    autogroup.write_text("/autogroup-616 nice 15\n")
    lower_priority(10, autogroup)
    assert increments == [10]
    assert autogroup.read_text() == "/autogroup-616 nice 15\n"


def test_without_autogroups_only_the_process_niceness_changes(tmp_path: Path, increments: list[int]) -> None:
    lower_priority(10, tmp_path / "absent")
    assert increments == [10]


def test_zero_keeps_the_streams_priority(tmp_path: Path, increments: list[int]) -> None:
    autogroup = tmp_path / "autogroup"
    autogroup.write_text("/autogroup-616 nice 0\n")
    lower_priority(0, autogroup)
    assert increments == []
    assert autogroup.read_text() == "/autogroup-616 nice 0\n"
