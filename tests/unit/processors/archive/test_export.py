"""Export: labelled windows as a UCF101-layout set that training reads, split in time blocks, with their X_i;
flagged unlabelled windows as candidates; windows without frames skipped and counted."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from actionstream.cli import app
from processors.archive.export import export_training_set
from processors.archive.recorder import ArchiveRecorder
from processors.archive.settings import ArchiveOptions, ArchiveSettings
from streams.records import clip_id
from streams.schemas import Label
from tests.support.features import flat_jpeg, make_outcome, make_scored_frame
from training.ucf101 import Ucf101Index
from training.video import read_video_frames

T0 = 1_000_000.0  # a multiple of the test block, so the blocks are [T0, T0 + 20), [T0 + 20, T0 + 40), ...
SECONDS = 80


@pytest.fixture
def settings(tmp_path: Path) -> ArchiveSettings:
    return ArchiveSettings(sites=["s"], archive=ArchiveOptions(root=tmp_path / "archive", test_block_s=20.0,
                                                               test_share=0.25))


def _fill(settings: ArchiveSettings) -> dict[str, list[str]]:
    """Cameras a and b at 8 fps for 80 s, an outcome every 2 s; a's windows labelled wave, b's walk, except
    every fifth (unlabelled). Returns the labelled event ids per camera."""
    recorder = ArchiveRecorder(settings)
    rng = np.random.default_rng(0)
    jpeg = flat_jpeg(90, size=64)
    labelled: dict[str, list[str]] = {"a": [], "b": []}
    for camera, label in (("a", "wave"), ("b", "walk")):
        for seq in range(SECONDS * 8):
            frame = make_scored_frame("s", camera, T0 + seq / 8, seq=seq, jpeg=jpeg,
                                      features=rng.standard_normal(16).astype(np.float16))
            recorder.add_frame(frame.to_bytes())
        for index in range((SECONDS - 4) // 2 + 1):
            outcome = make_outcome("s", camera, T0 + 2 * index)
            recorder.add_outcome(outcome.to_json_bytes())
            if index % 5:
                recorder.add_label(Label(event_id=outcome.event_id, label=label, source="t").to_json_bytes(), "s",
                                   arrival=T0 + 100)
                labelled[camera].append(outcome.event_id)
    recorder.close()
    return labelled


def test_labelled_windows_become_a_set_that_training_reads(settings: ArchiveSettings, tmp_path: Path) -> None:
    labelled = _fill(settings)
    recorder = ArchiveRecorder(settings)
    lost = make_outcome("s", "a", T0 + 600.0)  # labelled, but its frames are not in the archive
    recorder.add_outcome(lost.to_json_bytes())
    recorder.add_label(Label(event_id=lost.event_id, label="wave", source="t").to_json_bytes(), "s", T0 + 700)
    relabelled = clip_id("s", "b", T0 + 2.0)  # a later label corrects an earlier one
    correction = Label(event_id=relabelled, label="wave", source="t", labelled_at=time.time() + 60)
    recorder.add_label(correction.to_json_bytes(), "s", T0 + 700)
    recorder.close()
    flagged = [clip_id("s", "a", T0), clip_id("s", "b", T0 + 10.0), clip_id("s", "a", T0 + 4.0)]  # 2 unlabelled

    summary = export_training_set(settings, "s", tmp_path / "set", flagged=flagged)

    index = Ucf101Index.from_folder(tmp_path / "set")
    assert index.classes == summary.classes == ["walk", "wave"] and not index.missing
    assert dict(zip(index.classes, index.class_counts("train"), strict=True)) == summary.train
    assert dict(zip(index.classes, index.class_counts("test"), strict=True)) == summary.test
    total = len(labelled["a"]) + len(labelled["b"])
    assert len(index.train) + len(index.test) + summary.embargoed == total
    assert summary.train["wave"] + summary.test["wave"] + summary.train["walk"] + summary.test["walk"] \
        + summary.embargoed == total
    assert summary.skipped == {"no frames in the archive (evicted or never stored)": 1}
    starts = {subset: [(item.video_id.split("/")[1].split("_")[0], int(item.video_id.split("_")[1]) / 1000)
                       for item in index.items(subset)] for subset in ("train", "test")}
    assert {start // 20 for _, start in starts["test"]} == {T0 // 20 + 3}  # every 4th block of 20 s
    for camera, start in starts["train"]:
        assert not any(other == camera and abs(other_start - start) < 4.0 for other, other_start in starts["test"])
    assert f"wave/b_{round((T0 + 2.0) * 1000)}" in [item.video_id for item in index.train]
    assert len(read_video_frames(index.train[0].path).frames) == 32  # 4 s at 8 fps

    with np.load(tmp_path / "set/features.npz") as cache:
        assert cache["features"].shape == (len(index.train) + len(index.test), 32, 16)
        assert cache["mask"].all() and cache["has_features"].all()
        assert sorted(cache["video_ids"]) == sorted(item.video_id for item in index.train + index.test)
        row = list(cache["event_ids"]).index(relabelled)
        assert (cache["labels"][row], cache["predicted"][row], cache["cameras"][row]) == ("wave", "wave", "b")
        assert np.diff(cache["capture_times"][row]) == pytest.approx(np.full(31, 1 / 8))
    with np.load(tmp_path / "set/candidates/features.npz") as candidates:
        assert sorted(candidates["event_ids"]) == sorted(flagged[:2])
        assert set(candidates["subsets"]) == {"candidate"} and set(candidates["labels"]) == {""}
    assert summary.candidates == 2
    assert len((tmp_path / "set/candidates/candidates.txt").read_text().splitlines()) == 2
    assert json.loads((tmp_path / "set/manifest.json").read_text())["train"] == summary.train


def test_time_range_and_cameras_narrow_the_export(settings: ArchiveSettings, tmp_path: Path) -> None:
    _fill(settings)
    summary = export_training_set(settings, "s", tmp_path / "set", since=T0 + 20.0, until=T0 + 40.0, cameras=["a"])
    # a's windows starting T0 + 20 .. T0 + 38, all in one block; those at T0 + 20 and T0 + 30 are unlabelled
    assert (summary.train, summary.test, summary.embargoed, summary.classes) == ({"wave": 8}, {}, 0, ["wave"])
    with pytest.raises(FileExistsError):
        export_training_set(settings, "s", tmp_path / "set")


def test_the_command_prints_the_summary(settings: ArchiveSettings, tmp_path: Path) -> None:
    _fill(settings)
    flagged = tmp_path / "flagged.txt"
    flagged.write_text(f"{clip_id('s', 'a', T0)}\n\n")
    env = {"ACTIONSTREAM_ARCHIVE__ROOT": str(settings.archive.root), "ACTIONSTREAM_ARCHIVE__TEST_BLOCK_S": "20"}
    result = CliRunner().invoke(app, ["archive", "export", "--site", "s", "--out", str(tmp_path / "set"),
                                      "--since", "1970-01-12T13:46:40", "--until", str(T0 + 10.0),
                                      "--cameras", "a", "--cameras", "b", "--flagged", str(flagged)], env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["classes"] == ["walk", "wave"] and summary["candidates"] == 1
    # windows starting T0 .. T0 + 8 of both cameras, the first of each unlabelled
    assert (summary["train"], summary["test"]) == ({"walk": 4, "wave": 4}, {})


def test_a_replay_export_takes_the_latest_labelled_windows_of_the_other_cameras(settings: ArchiveSettings,
                                                                                tmp_path: Path) -> None:
    labelled = _fill(settings)
    summary = export_training_set(settings, "s", tmp_path / "set", exclude_cameras=["a"], latest_per_camera=6)
    index = Ucf101Index.from_folder(tmp_path / "set")
    exported = sorted(item.video_id for item in index.train + index.test)
    assert summary.classes == ["walk"] and sum(summary.train.values()) + sum(summary.test.values()) \
        + summary.embargoed == 6
    # b's last 8 windows start at T0 + 62 .. T0 + 76; the one at T0 + 70 is unlabelled (every fifth)
    latest = [f"walk/b_{round((T0 + start) * 1000)}" for start in (64, 66, 68, 72, 74, 76)]
    assert set(exported) <= set(latest) and len(labelled["b"]) > 6
    assert json.loads((tmp_path / "set/manifest.json").read_text())["latest_per_camera"] == 6
