"""The recorder stores valid records of its sites and refuses bad ones with a reason (the sink dead-letters
them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from processors.archive.recorder import ArchiveRecorder
from processors.archive.settings import ArchiveOptions, ArchiveSettings
from processors.archive.storage import Kind, list_segments, read_entries
from streams.schemas import InvalidMessage, Label
from tests.support.features import make_outcome, make_scored_frame


@pytest.fixture
def recorder(tmp_path: Path) -> ArchiveRecorder:
    return ArchiveRecorder(ArchiveSettings(sites=["s"], archive=ArchiveOptions(root=tmp_path, segment_s=60)))


def test_records_land_in_their_segments_as_they_came(recorder: ArchiveRecorder, tmp_path: Path) -> None:
    frame = make_scored_frame("s", "cam", 130.0, seq=7).to_bytes()
    outcome = make_outcome("s", "cam", 118.0).to_json_bytes()
    label = Label(event_id="e1", label="wave", source="test").to_json_bytes()
    assert recorder.add_frame(frame) and recorder.add_outcome(outcome)
    recorder.add_label(label, "s", arrival=200.0)
    recorder.close()
    stored = {(s.kind, s.camera, s.start): list(read_entries(s.path)) for s in list_segments(tmp_path)}
    assert stored == {(Kind.FRAMES, "cam", 120): [frame], (Kind.OUTCOMES, None, 60): [outcome],
                      (Kind.LABELS, None, 180): [label]}


def test_other_sites_are_not_kept(recorder: ArchiveRecorder, tmp_path: Path) -> None:
    assert not recorder.add_frame(make_scored_frame("elsewhere", "cam", 1.0).to_bytes())
    assert not recorder.add_outcome(make_outcome("elsewhere", "cam", 0.0).to_json_bytes())
    recorder.close()
    assert list_segments(tmp_path) == []


def test_bad_records_are_refused_with_a_reason(recorder: ArchiveRecorder) -> None:
    with pytest.raises(InvalidMessage, match="not a scored-frame record"):
        recorder.add_frame(b"garbage")
    poisoned = make_scored_frame("s", "cam", 1.0, features=np.array([0.0, np.inf], dtype=np.float16))
    with pytest.raises(InvalidMessage, match="non-finite"):
        recorder.add_frame(poisoned.to_bytes())
    empty = json.loads(make_outcome("s", "cam", 10.0).to_json_bytes())
    empty["window_end"] = empty["window_start"]
    with pytest.raises(InvalidMessage, match="empty or not finite"):
        recorder.add_outcome(json.dumps(empty).encode())
    with pytest.raises(ValidationError):
        recorder.add_outcome(b"{not json")
    with pytest.raises(ValidationError):
        recorder.add_label(b'{"event_id": "", "label": "wave", "source": "x"}', "s", arrival=1.0)
    with pytest.raises(ValidationError):
        recorder.add_label(None, "s", arrival=1.0)
