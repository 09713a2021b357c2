"""Rolling upgrades: the window table written by the release before this one (a fixture of its serialized
state: window state, scored-frame records, the applied offset) is restored by this release's code, which carries
on exactly as if it had seen every frame itself."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from processors.selector.windows import WINDOW_STATE_VERSION, CameraWindows, ClosedWindow
from processors.settings import Stage2Settings
from streams.records import ScoredFrame

FIXTURE = Path(__file__).parent / "data" / "window-table.v1.json"
SETTINGS = Stage2Settings()
FIRST = round(1_800_000_000.0 * 8)  # the fixture's first frame: 30 frames at 8 fps from there


def _table() -> dict[str, str]:
    return json.loads(FIXTURE.read_text())["table"]


def _feed(state: CameraWindows, seqs: range) -> list[ClosedWindow]:
    closed: list[ClosedWindow] = []
    for seq in seqs:
        assert state.add(seq, seq / 8, SETTINGS, arrival=seq / 8 + 0.2).accepted
        closed += state.close_ready(SETTINGS)[0]
    return closed


def test_the_previous_releases_table_is_restored() -> None:
    table = _table()
    state = CameraWindows.from_bytes(table["lobby/door"].encode())
    frames = {key: ScoredFrame.from_bytes(base64.b64decode(value)) for key, value in table.items() if "#" in key}
    assert sorted(state.frames) == list(range(FIRST, FIRST + 30))
    assert {f"lobby/door#{seq}" for seq in state.frames} == set(frames)
    assert all(frame.features.shape == (8,) and np.isfinite(frame.features).all() for frame in frames.values())
    assert int(table["@offset/3"]) == 1029


def test_a_restored_state_closes_the_same_windows_as_one_that_saw_every_frame() -> None:
    restored = CameraWindows.from_bytes(_table()["lobby/door"].encode())
    witness = CameraWindows()
    _feed(witness, range(FIRST, FIRST + 30))
    later = range(FIRST + 30, FIRST + 80)
    assert _feed(restored, later) == _feed(witness, later) != []
    assert restored == witness


def test_this_release_writes_its_version_and_reads_its_own_state() -> None:
    restored = CameraWindows.from_bytes(_table()["lobby/door"].encode())
    written = restored.to_bytes()
    assert json.loads(written)["version"] == WINDOW_STATE_VERSION
    assert CameraWindows.from_bytes(written) == restored


def test_a_newer_state_version_is_refused_not_misread() -> None:
    document = json.loads(CameraWindows().to_bytes())
    newer = WINDOW_STATE_VERSION + 1
    with pytest.raises(ValueError, match=f"window state version {newer} is newer than this worker reads"):
        CameraWindows.from_bytes(json.dumps({**document, "version": newer}).encode())
