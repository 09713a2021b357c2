import json
from pathlib import Path

import numpy as np
import pytest

from tests.unit.training.tiny_videos import moving_square_frames, write_tiny_video
from training.curation import CurationReport, CurationSettings, curate, curate_clip, laplacian_variance
from training.ucf101 import VideoItem


def _box_blur(frame: np.ndarray, passes: int = 4) -> np.ndarray:
    blurred = frame.astype(np.float32)
    for _ in range(passes):
        padded = np.pad(blurred, ((1, 1), (1, 1), (0, 0)), mode="edge")
        height, width = frame.shape[:2]
        blurred = sum(padded[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)) / 9
    return blurred.round().astype(np.uint8)


def _clip_with_one_of_each_defect() -> np.ndarray:
    frames = moving_square_frames(7, seed=0)
    frames[2] = _box_blur(frames[2])
    frames[4] = frames[3]  # exact repeat of the previous (kept) frame
    frames[5] = frames[5] // 16  # nearly black
    frames[6] = 255 - (255 - frames[6]) // 16  # nearly white
    return frames


def test_laplacian_variance_is_zero_for_flat_and_high_for_texture() -> None:
    flat = np.full((1, 8, 8), 100.0, dtype=np.float32)
    checker = (np.indices((8, 8)).sum(axis=0) % 2 * 255).astype(np.float32)[None]

    assert laplacian_variance(flat)[0] == 0.0
    assert laplacian_variance(checker)[0] > 1e4


def test_curate_clip_drops_blurred_duplicate_and_badly_exposed_frames_with_reasons() -> None:
    kept, dropped = curate_clip(_clip_with_one_of_each_defect(), CurationSettings())

    assert kept.tolist() == [0, 1, 3]
    assert [(frame.frame, frame.reason) for frame in dropped] == [
        (2, "blurred"),
        (4, "duplicate"),
        (5, "underexposed"),
        (6, "overexposed"),
    ]
    assert dropped[1].value == 0.0  # identical thumbnails


def test_disabled_curation_keeps_every_frame() -> None:
    kept, dropped = curate_clip(_clip_with_one_of_each_defect(), CurationSettings(enabled=False))

    assert kept.tolist() == list(range(7))
    assert dropped == []


def test_report_counts_and_json(tmp_path: Path) -> None:
    frames = _clip_with_one_of_each_defect()
    kept, dropped = curate_clip(frames, CurationSettings())
    report = CurationReport(settings=CurationSettings().model_dump(mode="json"))
    report.add_clip("A/v_A_g01_c01", len(frames), kept, dropped)
    report.add_corrupt(Path("A/v_A_g02_c01.avi"), "cannot open")

    written = json.loads(report.write_json(tmp_path / "report" / "curation.json").read_text())

    assert written["videos_seen"] == 2
    assert written["frames_seen"] == 7 and written["frames_kept"] == 3
    assert written["dropped_by_reason"] == {"blurred": 1, "duplicate": 1, "underexposed": 1, "overexposed": 1}
    assert written["dropped"]["A/v_A_g01_c01"][0] == {"frame": 2, "reason": "blurred", "value": pytest.approx(
        dropped[0].value
    )}
    assert written["corrupt_videos"] == [{"path": "A/v_A_g02_c01.avi", "reason": "cannot open"}]


def test_curate_decodes_candidates_lists_corrupt_videos_and_skips_them(tmp_path: Path) -> None:
    good = write_tiny_video(tmp_path / "A" / "v_A_g01_c01.avi", num_frames=12)
    broken = tmp_path / "A" / "v_A_g02_c01.avi"
    broken.write_bytes(b"garbage" * 50)
    items = [
        VideoItem(path=good, label=0, class_name="A", video_id="A/v_A_g01_c01"),
        VideoItem(path=broken, label=0, class_name="A", video_id="A/v_A_g02_c01"),
    ]

    kept, report = curate(items, CurationSettings(), num_candidates=6, progress=False)

    assert list(kept) == ["A/v_A_g01_c01"]
    assert kept["A/v_A_g01_c01"].tolist() == list(range(6))  # a clean moving clip loses nothing
    assert report.frames_seen == 6 and report.frames_kept == 6
    assert [entry["path"] for entry in report.corrupt] == [str(broken)]


def test_clip_shorter_than_t_loses_its_repeated_frames_as_duplicates(tmp_path: Path) -> None:
    path = write_tiny_video(tmp_path / "A" / "short.avi", num_frames=3)
    item = VideoItem(path=path, label=0, class_name="A", video_id="A/short")

    kept, report = curate([item], CurationSettings(), num_candidates=6, progress=False)

    assert kept["A/short"].tolist() == [0, 2, 4]
    assert report.counts_by_reason() == {"duplicate": 3}
