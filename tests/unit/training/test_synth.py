"""Synthetic data: determinism, truth masks, the UCF101 layout, decodable videos, the camera feed and the CLI."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import typer
from pydantic import ValidationError
from typer.testing import CliRunner

from tests.support.streams import TerminalStream
from training import synth
from training.synth import SynthSettings, generate_dataset, generate_dataset_once, render_clip
from training.synth_actions import ActionKind, action_kinds, register_action_kind
from training.synth_cli import register
from training.synth_feed import timeline_path, write_camera_feed

ALL_KINDS = len(action_kinds())


def _tiny(**overrides: object) -> SynthSettings:
    values: dict[str, object] = {"width": 64, "height": 48, "fps": 8.0, "seconds": 1.5}
    return SynthSettings.model_validate({**values, **overrides})


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def test_render_clip_is_deterministic_for_a_seed() -> None:
    settings = _tiny()
    first = render_clip(1, settings, np.random.default_rng(7))
    again = render_clip(1, settings, np.random.default_rng(7))
    other = render_clip(1, settings, np.random.default_rng(8))

    np.testing.assert_array_equal(first.frames, again.frames)
    np.testing.assert_array_equal(first.mask, again.mask)
    assert not np.array_equal(first.frames, other.frames)


@pytest.mark.parametrize("class_index", range(ALL_KINDS))
def test_mask_is_one_contiguous_burst_of_the_configured_fraction(class_index: int) -> None:
    settings = _tiny(num_classes=ALL_KINDS, fps=10.0, seconds=4.0, burst_fraction=(0.2, 0.3))
    for seed in range(5):
        clip = render_clip(class_index, settings, np.random.default_rng(seed))
        start, end = clip.burst

        assert clip.frames.shape == (40, 48, 64, 3) and clip.frames.dtype == np.uint8
        assert clip.mask.shape == (40,) and clip.mask.dtype == bool
        assert clip.label == class_index
        assert np.flatnonzero(clip.mask).tolist() == list(range(start, end))
        assert 8 <= end - start <= 12  # 20-30 % of 40 frames


def _block_means(frame: np.ndarray) -> np.ndarray:
    """4x4 block averages: sensor noise cancels out, shapes stay."""
    height, width = (size // 4 * 4 for size in frame.shape[:2])
    blocks = frame[:height, :width].astype(np.float32).reshape(height // 4, 4, width // 4, 4, 3)
    return blocks.mean(axis=(1, 3))


def _changed_area(first: np.ndarray, second: np.ndarray) -> float:
    return float((np.abs(first - second).max(axis=-1) > 30).mean())


def _saturated_area(frame: np.ndarray) -> float:
    chroma = frame.max(axis=-1).astype(np.int16) - frame.min(axis=-1)
    return float((chroma > 110).mean())


@pytest.mark.parametrize("class_index", range(ALL_KINDS))
def test_class_signal_lives_only_in_the_burst(class_index: int) -> None:
    settings = _tiny(num_classes=ALL_KINDS, width=96, height=72, fps=10.0, seconds=3.0)
    clip = render_clip(class_index, settings, np.random.default_rng(class_index))
    blocks = [_block_means(frame) for frame in clip.frames]
    idle = np.flatnonzero(~clip.mask)
    burst = np.flatnonzero(clip.mask)

    # Every idle frame has an idle neighbour closer than any burst frame is to any idle frame.
    idle_to_nearest_idle = max(min(_changed_area(blocks[i], blocks[j]) for j in idle if j != i) for i in idle)
    burst_to_nearest_idle = min(min(_changed_area(blocks[b], blocks[i]) for i in idle) for b in burst)
    assert burst_to_nearest_idle > idle_to_nearest_idle + 0.01

    # The saturated class colour shows on every burst frame and on no idle frame.
    assert max(_saturated_area(clip.frames[i]) for i in idle) < 0.001
    assert min(_saturated_area(clip.frames[b]) for b in burst) > 0.01


def test_idle_clip_shows_scene_motion_and_no_action() -> None:
    settings = _tiny(num_classes=2, idle_class=True, width=96, height=72, fps=10.0, seconds=3.0)
    clip = render_clip(settings.idle_index or 0, settings, np.random.default_rng(3))
    blocks = [_block_means(frame) for frame in clip.frames]

    assert settings.class_names == ["JumpingDisc", "SlidingSquare", "idle"] and clip.label == 2
    assert clip.burst == (0, 0) and not clip.mask.any()
    assert max(_saturated_area(frame) for frame in clip.frames) < 0.001  # no class colour anywhere
    assert _changed_area(blocks[0], blocks[-1]) > 0  # the scene still moves (blobs, lighting)


def test_action_kinds_are_distinct_and_names_unique() -> None:
    kinds = action_kinds()
    assert len(kinds) >= 6
    assert len({kind.name for kind in kinds}) == len(kinds)
    assert len({kind.colour for kind in kinds}) == len(kinds)
    with pytest.raises(ValueError, match="already registered"):
        first = kinds[0]
        register_action_kind(ActionKind(first.name, (1, 2, 3), first.shape, first.texture, first.motion, 1.0))


@pytest.mark.parametrize(
    "overrides",
    [
        {"num_classes": ALL_KINDS + 1},
        {"groups": 3, "test_groups": 3},
        {"groups": 4, "clips_per_class": 3},
        {"width": 65},
        {"burst_fraction": (0.4, 0.3)},
        {"codec": "vp9"},
    ],
)
def test_settings_reject_inconsistent_values(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _tiny(**overrides)


@pytest.mark.parametrize("codec", ["mpeg4", "libx264"])
def test_generate_dataset_writes_ucf101_layout_with_truth(tmp_path: Path, codec: str) -> None:
    settings = _tiny(num_classes=2, clips_per_class=4, groups=3, test_groups=1, codec=codec)
    root = generate_dataset(settings, tmp_path / "synth", progress=False)
    lists = root / "ucfTrainTestlist"

    assert (lists / "classInd.txt").read_text().splitlines() == ["1 JumpingDisc", "2 SlidingSquare"]
    train = [line.split() for line in (lists / "trainlist01.txt").read_text().splitlines()]
    test = (lists / "testlist01.txt").read_text().splitlines()
    # 4 clips round-robin over 3 groups: g01 holds c01 and c02, g02 and g03 one clip each; g03 is the test group.
    assert [relative for relative, _ in train[:3]] == [
        "JumpingDisc/v_JumpingDisc_g01_c01.avi",
        "JumpingDisc/v_JumpingDisc_g01_c02.avi",
        "JumpingDisc/v_JumpingDisc_g02_c01.avi",
    ]
    assert {label for relative, label in train if relative.startswith("SlidingSquare/")} == {"2"}
    assert test == ["JumpingDisc/v_JumpingDisc_g03_c01.avi", "SlidingSquare/v_SlidingSquare_g03_c01.avi"]
    assert len(train) == 6

    for relative in [relative for relative, _ in train] + test:
        class_name, file_name = relative.split("/")
        truth = json.loads((root / "truth" / class_name / file_name.replace(".avi", ".json")).read_text())
        frames = _decode(root / "UCF-101" / relative)
        start, end = truth["burst"]

        assert truth["label"] == class_name and truth["fps"] == 8.0
        assert frames.shape == (truth["num_frames"], 48, 64, 3) == (12, 48, 64, 3)
        assert truth["mask"] == [1 if start <= i < end else 0 for i in range(12)]


def test_generate_dataset_with_idle_class_lists_it_last(tmp_path: Path) -> None:
    settings = _tiny(num_classes=2, clips_per_class=2, groups=2, seconds=1.0, idle_class=True)
    root = generate_dataset(settings, tmp_path / "synth", progress=False)

    assert (root / "ucfTrainTestlist" / "classInd.txt").read_text().splitlines()[-1] == "3 idle"
    assert "idle/v_idle_g01_c01.avi 3" in (root / "ucfTrainTestlist" / "trainlist01.txt").read_text()
    truth = json.loads((root / "truth" / "idle" / "v_idle_g02_c01.json").read_text())
    assert truth["burst"] == [0, 0] and not any(truth["mask"])


def test_generate_dataset_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    settings = _tiny(num_classes=2, clips_per_class=2, groups=2, seconds=1.0)
    first = generate_dataset(settings, tmp_path / "first", progress=False)
    second = generate_dataset(settings, tmp_path / "second", progress=False)
    reseeded = generate_dataset(settings.model_copy(update={"seed": 1}), tmp_path / "reseeded", progress=False)
    relative = "UCF-101/SlidingSquare/v_SlidingSquare_g02_c01.avi"

    np.testing.assert_array_equal(_decode(first / relative), _decode(second / relative))
    assert not np.array_equal(_decode(first / relative), _decode(reseeded / relative))
    for truth in (first / "truth").rglob("*.json"):
        assert truth.read_text() == (second / truth.relative_to(first)).read_text()


def test_camera_feed_timeline_matches_the_video(tmp_path: Path) -> None:
    settings = _tiny(num_classes=3, fps=10.0, seconds=1.0)
    path = write_camera_feed(settings, tmp_path / "feed.mp4", seconds=3.5, seed=5, gop_seconds=1.0)
    timeline = json.loads(timeline_path(path).read_text())

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [packet for packet in container.demux(stream) if packet.size]
        keyframes = [index for index, packet in enumerate(packets) if packet.is_keyframe]
        assert stream.duration is not None and stream.time_base is not None
        duration = float(stream.duration * stream.time_base)
    assert stream.codec_context.name == "h264"
    assert len(_decode(path)) == len(packets) == timeline["num_frames"] == 35
    assert duration == pytest.approx(timeline["duration_s"]) == pytest.approx(3.5)
    assert keyframes == [0, 10, 20, 30]
    pts = [packet.pts for packet in packets if packet.pts is not None]
    assert len(pts) == len(packets) and pts == sorted(pts)  # no B-frames: decode order is presentation order

    segments = timeline["segments"]
    assert [s["start_s"] for s in segments] == pytest.approx([0, 1, 2, 3])
    assert [s["end_s"] for s in segments] == pytest.approx([1, 2, 3, 3.5])
    for segment in segments:
        assert segment["start_s"] <= segment["burst_start_s"] < segment["burst_end_s"] <= segment["end_s"]
        assert segment["label"] == settings.class_names[segment["class_index"]]

    again = write_camera_feed(settings, tmp_path / "again.mp4", seconds=3.5, seed=5, gop_seconds=1.0)
    assert json.loads(timeline_path(again).read_text()) == timeline


def test_camera_feed_idle_segments_have_no_burst(tmp_path: Path) -> None:
    settings = _tiny(num_classes=3, fps=8.0, seconds=1.0)
    path = write_camera_feed(settings, tmp_path / "feed.mp4", seconds=12.0, seed=2, idle_share=0.5)
    segments = json.loads(timeline_path(path).read_text())["segments"]
    idle = [segment for segment in segments if segment["label"] == "idle"]

    assert 0 < len(idle) < len(segments)
    assert all(segment["burst_start_s"] == segment["burst_end_s"] and segment["class_index"] == 3 for segment in idle)
    assert all(segment["burst_start_s"] < segment["burst_end_s"] for segment in segments if segment not in idle)


def _cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_cli_synth_and_synth_feed(tmp_path: Path) -> None:
    runner = CliRunner()
    synth = runner.invoke(
        _cli(),
        ["synth", "--out", str(tmp_path / "data"), "--classes", "2", "--clips-per-class", "4", "--width", "64",
         "--height", "48", "--fps", "8", "--seconds", "1", "--seed", "3", "--codec", "mpeg4"],
    )
    feed = runner.invoke(
        _cli(),
        ["synth-feed", "--out", str(tmp_path / "cam.mp4"), "--seconds", "2", "--width", "64", "--height", "48",
         "--fps", "8", "--seed", "3"],
    )

    assert synth.exit_code == 0, synth.output
    assert len(list((tmp_path / "data" / "UCF-101").rglob("*.avi"))) == 8
    assert feed.exit_code == 0, feed.output
    assert json.loads((tmp_path / "cam.timeline.json").read_text())["num_frames"] == 16


def test_cli_rejects_an_unknown_codec(tmp_path: Path) -> None:
    result = CliRunner().invoke(_cli(), ["synth", "--out", str(tmp_path), "--codec", "vp9"])
    assert result.exit_code != 0
    assert not (tmp_path / "UCF-101").exists()


@pytest.mark.parametrize(("stream", "shown"), [(io.StringIO(), False), (TerminalStream(), True)])
def test_the_progress_bar_shows_only_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   stream: io.StringIO, shown: bool) -> None:
    monkeypatch.setattr(sys, "stderr", stream)  # a log file, then a terminal
    generate_dataset(_tiny(num_classes=2, clips_per_class=2, groups=2), tmp_path)
    assert ("synth clips" in stream.getvalue()) == shown


def test_generation_once_renames_a_complete_set_into_place(tmp_path: Path) -> None:
    out = generate_dataset_once(_tiny(num_classes=2, clips_per_class=2, groups=2), tmp_path / "set")
    assert (out / "ucfTrainTestlist" / "testlist01.txt").read_text().count(".avi") == 2
    assert [path.name for path in tmp_path.iterdir()] == ["set"]  # no staging folder left behind
    assert generate_dataset_once(_tiny(num_classes=3), out) == out  # a set is there: nothing generated
    assert "Class3" not in (out / "ucfTrainTestlist" / "classInd.txt").read_text()


def test_a_process_that_loses_the_race_uses_the_winners_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "set"
    write = synth._write_dataset

    def racing(settings: SynthSettings, folder: Path, progress: bool | None) -> tuple[int, int]:
        write(_tiny(num_classes=2, clips_per_class=2, groups=2, seed=1), out, False)  # the winner's set, meanwhile
        return write(settings, folder, progress)

    monkeypatch.setattr(synth, "_write_dataset", racing)
    with caplog.at_level("INFO", logger="training.synth"):
        assert generate_dataset_once(_tiny(num_classes=3, clips_per_class=2, groups=2), out) == out
    assert (out / "ucfTrainTestlist" / "classInd.txt").read_text().count("\n") == 2  # the winner's two classes
    assert [path.name for path in tmp_path.iterdir()] == ["set"]  # the loser's copy is gone
    assert "generated by another process meanwhile" in caplog.text


def test_a_folder_without_a_set_is_refused_with_its_remedy(tmp_path: Path) -> None:
    (tmp_path / "set" / "UCF-101").mkdir(parents=True)  # an interrupted generation of the days before staging
    with pytest.raises(FileExistsError, match="remove it"):
        generate_dataset_once(_tiny(num_classes=2, clips_per_class=2, groups=2), tmp_path / "set")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["set"]
