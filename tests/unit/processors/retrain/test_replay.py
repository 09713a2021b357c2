"""The retrain job's replay draw from the archive: the latest labelled windows of the site's other cameras, up to
the request's time, never the request's own cameras."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from processors.archive.recorder import ArchiveRecorder
from processors.archive.settings import ArchiveOptions, ArchiveSettings
from processors.retrain.job import RetrainJob
from processors.retrain.settings import RetrainOptions, RetrainSettings
from streams.schemas import Label, RetrainRequest
from tests.support.features import flat_jpeg, make_outcome, make_scored_frame
from training.ucf101 import Ucf101Index

T0 = 1_000_000.0


def _fill(root: Path) -> None:
    """Cameras a, b and c at 8 fps for 40 s, an outcome every 2 s, each labelled."""
    recorder = ArchiveRecorder(ArchiveSettings(sites=["s"], archive=ArchiveOptions(root=root)))
    rng = np.random.default_rng(0)
    for camera in ("a", "b", "c"):
        for seq in range(40 * 8):
            recorder.add_frame(make_scored_frame("s", camera, T0 + seq / 8, seq=seq, jpeg=flat_jpeg(90, size=64),
                                                 features=rng.standard_normal(16).astype(np.float16)).to_bytes())
        for index in range(19):
            outcome = make_outcome("s", camera, T0 + 2 * index)
            recorder.add_outcome(outcome.to_json_bytes())
            recorder.add_label(Label(event_id=outcome.event_id, label="walk", source="t").to_json_bytes(), "s",
                               arrival=T0 + 100)
    recorder.close()


def test_the_replay_draws_the_latest_windows_of_the_other_cameras_before_the_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(tmp_path / "archive")
    monkeypatch.setenv("ACTIONSTREAM_ARCHIVE__ROOT", str(tmp_path / "archive"))
    request = RetrainRequest(request_id="r1", site="s", cause="data_drift", reason="drift", evidence=[],
                             report_ids=["r"], cameras=["a"], data_start=T0, data_end=T0 + 30.0, model_version="1",
                             requested_at=T0 + 21.0)
    job = RetrainJob(RetrainSettings(retrain=RetrainOptions(replay_per_camera=4, work_dir=tmp_path / "work")))

    replay = job._replay(request, tmp_path / "replay")

    assert replay is not None
    index = Ucf101Index.from_folder(replay)
    windows = sorted(item.path.stem for item in index.train + index.test)
    # b's and c's windows starting at T0 + 14 .. T0 + 20 (the 4 latest before T0 + 21), the embargo aside
    latest = {f"{camera}_{round((T0 + start) * 1000)}" for camera in "bc" for start in (14, 16, 18, 20)}
    assert windows and set(windows) <= latest and {name[0] for name in windows} == {"b", "c"}
    assert job._replay(request.model_copy(update={"cameras": ["a", "b", "c"]}), tmp_path / "none") is None
