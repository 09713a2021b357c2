import json
from pathlib import Path

import pytest

from training.labels import (
    LabelImportError,
    VideoLabel,
    read_csv_labels,
    read_cvat_labels,
    read_labelme_labels,
    read_labels,
    write_ucf101_layout,
)

CVAT_IMAGES = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><name>clips</name><mode>annotation</mode></task></meta>
  <image id="0" name="Walk/clip_001.mp4" width="320" height="240">
    <tag label="Walk" source="manual"></tag>
  </image>
  <image id="1" name="Run\\clip_002.mp4" width="320" height="240">
    <tag label="Run" source="manual"></tag>
    <box label="person" occluded="0" xtl="1" ytl="2" xbr="30" ybr="40" z_order="0"></box>
  </image>
  <image id="2" name="clip_003.mp4" width="320" height="240">
    <tag label="Run" source="manual"></tag>
    <tag label="Walk" source="manual"></tag>
  </image>
  <image id="3" name="clip_004.mp4" width="320" height="240"></image>
</annotations>
"""

CVAT_VIDEO = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><name>task 7</name><mode>interpolation</mode><source>cam1/clip_009.mp4</source></task></meta>
  <tag frame="0" label="Jump" source="manual"></tag>
  <tag frame="10" label="Jump" source="manual"></tag>
  <tag frame="20" label="Walk" source="manual"></tag>
  <track id="0" label="person" source="manual"></track>
</annotations>
"""


def _labelme(path: Path, image_path: str, flags: dict[str, bool], shape_labels: list[str]) -> Path:
    document = {
        "version": "5.4.1",
        "flags": flags,
        "shapes": [{"label": label, "points": [[0, 0], [5, 5]], "shape_type": "rectangle"} for label in shape_labels],
        "imagePath": image_path,
        "imageData": None,
        "imageHeight": 240,
        "imageWidth": 320,
    }
    path.write_text(json.dumps(document))
    return path


def test_csv_with_path_and_label_columns(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("path,label\nWalk/a.avi,Walk\n./Run/b.mp4, Run\n,Walk\nJump/c.avi,\n")

    assert read_csv_labels(path) == [VideoLabel("Walk/a.avi", "Walk"), VideoLabel("Run/b.mp4", "Run")]


def test_csv_accepts_alternative_column_names(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("Video,Class,annotator\nx.avi,Walk,ann\n")

    assert read_labels(path) == [VideoLabel("x.avi", "Walk")]


def test_csv_without_recognised_header_raises(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("x.avi,Walk\n")

    with pytest.raises(LabelImportError, match="header"):
        read_csv_labels(path)


def test_labelme_flags_then_single_shape_label(tmp_path: Path) -> None:
    _labelme(tmp_path / "a.json", "a.mp4", {"Walk": True, "Run": False}, ["person"])
    _labelme(tmp_path / "b.json", "b.mp4", {}, ["Run", "Run"])
    _labelme(tmp_path / "c.json", "c.mp4", {"Walk": True, "Run": True}, [])  # ambiguous: skipped
    _labelme(tmp_path / "d.json", "d.mp4", {}, [])  # unlabelled: skipped

    assert read_labelme_labels(tmp_path) == [VideoLabel("a.mp4", "Walk"), VideoLabel("b.mp4", "Run")]
    assert read_labels(tmp_path / "a.json") == [VideoLabel("a.mp4", "Walk")]


def test_labelme_file_without_image_path_raises(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"shapes": []}))

    with pytest.raises(LabelImportError, match="imagePath"):
        read_labelme_labels(path)


def test_cvat_images_export_one_tag_per_media(tmp_path: Path) -> None:
    path = tmp_path / "annotations.xml"
    path.write_text(CVAT_IMAGES)

    assert read_cvat_labels(path) == [VideoLabel("Walk/clip_001.mp4", "Walk"), VideoLabel("Run/clip_002.mp4", "Run")]


def test_cvat_video_export_labels_the_source_with_its_majority_tag(tmp_path: Path) -> None:
    path = tmp_path / "annotations.xml"
    path.write_text(CVAT_VIDEO)

    assert read_labels(path) == [VideoLabel("cam1/clip_009.mp4", "Jump")]


def test_cvat_rejects_other_xml(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<dataset></dataset>")

    with pytest.raises(LabelImportError, match="annotations"):
        read_cvat_labels(path)


def test_unknown_suffix_needs_an_explicit_format(tmp_path: Path) -> None:
    with pytest.raises(LabelImportError, match="format"):
        read_labels(tmp_path / "labels.txt")


def test_imported_labels_become_a_ucf101_layout_with_a_stratified_split(tmp_path: Path) -> None:
    media = tmp_path / "media"
    for name in ["cam1/a.avi", "cam1/b.avi", "cam2/a.avi", "c d.avi"]:
        (media / name).parent.mkdir(parents=True, exist_ok=True)
        (media / name).write_bytes(b"video bytes")
    labels = [
        VideoLabel("cam1/a.avi", "Walk"),
        VideoLabel("cam1/b.avi", "Walk"),
        VideoLabel("cam2/a.avi", "Walk"),
        VideoLabel("c d.avi", "Jumping Jack"),
        VideoLabel("absent.avi", "Walk"),
    ]

    index = write_ucf101_layout(labels, media, tmp_path / "ucf", test_fraction=0.25, seed=0)

    assert index.classes == ["Jumping_Jack", "Walk"]
    assert index.missing == []
    assert len(index.test) == 1 and index.test[0].class_name == "Walk"  # ceil(0.25 * 3); a lone video trains
    assert sorted(item.video_id for item in index.train + index.test) == [
        "Jumping_Jack/c_d",
        "Walk/cam1_a",
        "Walk/cam1_b",
        "Walk/cam2_a",
    ]
    assert (tmp_path / "ucf" / "UCF-101" / "Walk" / "cam1_a.avi").read_bytes() == b"video bytes"


def test_layout_needs_at_least_one_existing_video(tmp_path: Path) -> None:
    with pytest.raises(LabelImportError, match="none of the labelled videos"):
        write_ucf101_layout([VideoLabel("absent.avi", "Walk")], tmp_path, tmp_path / "ucf")
