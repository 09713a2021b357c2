import re
from pathlib import Path

import pytest

from tests.unit.training.tiny_videos import write_ucf_layout
from training.ucf101 import Ucf101Index, Ucf101LayoutError, VideoItem, read_class_index


def test_index_reads_classes_split_and_resolves_mp4_for_listed_avi(tmp_path: Path) -> None:
    index = Ucf101Index.from_folder(write_ucf_layout(tmp_path))

    assert index.classes == ["ApplyEyeMakeup", "BoxingBag"]
    assert index.train == [
        VideoItem(
            path=tmp_path / "UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi",
            label=0,
            class_name="ApplyEyeMakeup",
            video_id="ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01",
        ),
        VideoItem(
            path=tmp_path / "UCF-101/BoxingBag/v_BoxingBag_g01_c01.mp4",
            label=1,
            class_name="BoxingBag",
            video_id="BoxingBag/v_BoxingBag_g01_c01",
        ),
    ]
    assert [item.video_id for item in index.test] == ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01"]
    assert index.class_counts("train") == [1, 1]
    assert index.class_counts("test") == [1, 0]


def test_missing_listed_video_is_reported_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    index = Ucf101Index.from_folder(write_ucf_layout(tmp_path))

    assert index.missing == ["BoxingBag/v_BoxingBag_g02_c01.avi"]
    assert "missing" in caplog.text


@pytest.mark.parametrize("split", [2, 3])
def test_official_split_numbers_pick_their_lists(tmp_path: Path, split: int) -> None:
    index = Ucf101Index.from_folder(write_ucf_layout(tmp_path, split=split), split=split)

    assert index.split == split
    assert len(index.train) == 2


def test_split_without_lists_is_a_layout_error(tmp_path: Path) -> None:
    write_ucf_layout(tmp_path, split=1)

    with pytest.raises(Ucf101LayoutError, match="trainlist02"):
        Ucf101Index.from_folder(tmp_path, split=2)


def test_unofficial_split_number_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="split"):
        Ucf101Index.from_folder(write_ucf_layout(tmp_path), split=4)


def test_video_folder_itself_with_lists_beside_it(tmp_path: Path) -> None:
    write_ucf_layout(tmp_path)

    index = Ucf101Index.from_folder(tmp_path / "UCF-101")

    assert index.video_root == tmp_path / "UCF-101"
    assert len(index.train) == 2


def test_folder_without_layout_raises_layout_error(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()

    with pytest.raises(Ucf101LayoutError, match="classInd"):
        Ucf101Index.from_folder(tmp_path / "videos")


def test_class_index_with_gap_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "classInd.txt"
    path.write_text("1 A\n3 C\n")

    with pytest.raises(Ucf101LayoutError, match=re.escape("1..2")):
        read_class_index(path)
