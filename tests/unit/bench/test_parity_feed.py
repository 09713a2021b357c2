"""The parity feed: every clip starts on the window grid after at least the idle gap, with its burst placed."""

from __future__ import annotations

import json
from pathlib import Path

import av

from bench.parity_feed import ParityClip, clip_burst, write_parity_feed
from tests.unit.training.tiny_videos import write_tiny_video
from training.ucf101 import VideoItem


def test_clips_start_on_the_grid(tmp_path: Path) -> None:
    # Tiny clips: 12 frames at 10 fps (1.2 s); grid 2 s, gap at least 1 s.
    clips = [ParityClip(write_tiny_video(tmp_path / f"{name}.avi", seed=seed), f"x/{name}", "x", "x", burst)
             for seed, (name, burst) in enumerate([("a", (2, 5)), ("b", None)])]

    spans = write_parity_feed(clips, "cam0", tmp_path / "feed.mp4", gap_s=1.0, grid_s=2.0, seed=0)

    assert [(span.start_s, span.end_s) for span in spans] == [(2.0, 3.2), (6.0, 7.2)]
    assert spans[0].burst_s == (2.2, 2.5) and spans[1].burst_s is None
    with av.open(str(tmp_path / "feed.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 82  # up to 7.2 s, then a last 1 s gap


def test_clip_burst_reads_the_synthetic_truth(tmp_path: Path) -> None:
    truth = tmp_path / "truth" / "Wave"
    truth.mkdir(parents=True)
    (truth / "v_Wave_g04_c01.json").write_text(json.dumps({"burst": [30, 55]}))
    (truth / "v_Wave_g04_c02.json").write_text(json.dumps({"burst": [0, 0]}))

    def item(stem: str) -> VideoItem:
        return VideoItem(tmp_path / "UCF-101" / "Wave" / f"{stem}.avi", 0, "Wave", f"Wave/{stem}")

    assert clip_burst(tmp_path, item("v_Wave_g04_c01")) == (30, 55)
    assert clip_burst(tmp_path, item("v_Wave_g04_c02")) is None  # an idle clip
    assert clip_burst(tmp_path, item("v_Wave_g04_c03")) is None  # no truth
