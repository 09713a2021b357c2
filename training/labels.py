"""Import video-level labels from a CSV, LabelMe JSON or CVAT XML export.

Every reader returns ``VideoLabel(video, class_name)`` pairs, ``video`` being the media path as the export
names it (relative to the data root); ``write_ucf101_layout`` turns them into a UCF101-layout folder that
training and evaluation read like any other. Formats:
- CSV with a header naming a path column (``path``/``video``/``file``) and a label column (``label``/``class``).
- LabelMe JSON (one file, or a folder of them): the media is ``imagePath``; the label is the single flag set
  to true (LabelMe's image-level tags), else the single label shared by all shapes.
- CVAT XML 1.1: "for images" exports give one label per ``<image name=...>`` from its ``<tag>`` elements;
  "for video" exports (one task per video) give the task's source video, labelled with its most frequent tag.
An entry whose label is missing or ambiguous is logged and skipped.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
import shutil
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from training.ucf101 import CLASS_INDEX_FILENAME, LISTS_DIRNAME, VIDEOS_DIRNAME, Ucf101Index

logger = logging.getLogger(__name__)

LabelFormat = Literal["csv", "labelme", "cvat"]
CSV_PATH_COLUMNS = ("path", "video", "file", "filename")
CSV_LABEL_COLUMNS = ("label", "class", "class_name", "action")


class LabelImportError(ValueError):
    """An export that cannot be read as the format asked for."""


class VideoLabel(NamedTuple):
    """One video (media path as written in the export, "/" separated) and its class name."""

    video: str
    class_name: str


def read_labels(path: Path, label_format: LabelFormat | None = None) -> list[VideoLabel]:
    """Read labels, guessing the format from the suffix (.csv, .json or a folder, .xml) when not given."""
    path = Path(path)
    chosen = label_format or _guess_format(path)
    readers = {"csv": read_csv_labels, "labelme": read_labelme_labels, "cvat": read_cvat_labels}
    return readers[chosen](path)


def read_csv_labels(path: Path) -> list[VideoLabel]:
    """Rows of a CSV with a path column and a label column (header required)."""
    with Path(path).open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = {name.strip().lower(): name for name in reader.fieldnames or []}
        path_column = next((columns[name] for name in CSV_PATH_COLUMNS if name in columns), None)
        label_column = next((columns[name] for name in CSV_LABEL_COLUMNS if name in columns), None)
        if path_column is None or label_column is None:
            raise LabelImportError(
                f"{path}: header must name a path column {CSV_PATH_COLUMNS} and a label column {CSV_LABEL_COLUMNS}"
            )
        labels: list[VideoLabel] = []
        for line_number, row in enumerate(reader, start=2):
            video, class_name = (row.get(path_column) or "").strip(), (row.get(label_column) or "").strip()
            if not video or not class_name:
                logger.warning("%s:%d: empty path or label, skipped", path, line_number)
                continue
            labels.append(VideoLabel(_normalise(video), class_name))
    return labels


def read_labelme_labels(path: Path) -> list[VideoLabel]:
    """Labels from one LabelMe JSON file or every ``*.json`` in a folder (sorted)."""
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    labels: list[VideoLabel] = []
    for file in files:
        try:
            document = json.loads(file.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise LabelImportError(f"{file}: not a readable JSON file: {error}") from error
        if not isinstance(document, dict) or "imagePath" not in document:
            raise LabelImportError(f"{file}: not a LabelMe annotation (no imagePath)")
        flags = [name for name, value in (document.get("flags") or {}).items() if value is True]
        shape_labels = {shape.get("label") for shape in document.get("shapes") or [] if shape.get("label")}
        candidates = flags or sorted(shape_labels)
        if len(candidates) != 1:
            logger.warning("%s: expected one flag or one shape label, found %s; skipped", file, candidates)
            continue
        labels.append(VideoLabel(_normalise(document["imagePath"]), candidates[0]))
    return labels


def read_cvat_labels(path: Path) -> list[VideoLabel]:
    """Labels from a CVAT XML 1.1 export ("for images" or "for video")."""
    try:
        root = ElementTree.parse(Path(path)).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise LabelImportError(f"{path}: not a readable XML file: {error}") from error
    if root.tag != "annotations":
        raise LabelImportError(f"{path}: root element is <{root.tag}>, expected <annotations>")
    images = root.findall("image")
    if images:
        return list(_cvat_image_labels(path, images))
    return list(_cvat_video_labels(path, root))


def _cvat_image_labels(path: Path, images: Iterable[ElementTree.Element]) -> Iterable[VideoLabel]:
    for image in images:
        name = image.get("name")
        tags = {label for tag in image.findall("tag") if (label := tag.get("label"))}
        if not name or len(tags) != 1:
            logger.warning("%s: image %r has tags %s, expected exactly one; skipped", path, name, sorted(tags))
            continue
        yield VideoLabel(_normalise(name), tags.pop())


def _cvat_video_labels(path: Path, root: ElementTree.Element) -> Iterable[VideoLabel]:
    task = root.find("meta/task")
    if task is None:
        task = root.find("meta/job")
    source = task.findtext("source") if task is not None else None
    video = (source or (task.findtext("name") if task is not None else None) or "").strip()
    tags = Counter(label for tag in root.iter("tag") if (label := tag.get("label")))
    if not video or not tags:
        logger.warning("%s: no source video or no tags in a CVAT video export; nothing imported", path)
        return
    (top_label, top_count), *others = tags.most_common()
    if others and others[0][1] == top_count:
        logger.warning("%s: tags tie between %s; skipped", path, sorted(tags))
        return
    yield VideoLabel(_normalise(video), top_label)


def write_ucf101_layout(
    labels: Iterable[VideoLabel],
    media_root: Path,
    out_dir: Path,
    test_fraction: float = 0.25,
    seed: int = 0,
    link: bool = True,
) -> Ucf101Index:
    """Lay labelled videos out as ``out_dir/UCF-101/<Class>/<file>`` plus split 1 lists, and index it.

    Videos are symlinked (``link``) or copied from ``media_root / video``; missing ones are logged and
    skipped. Class names become folder names (whitespace and slashes -> "_"). Per class, a seeded random
    ``test_fraction`` (at least one video when a class has two or more) goes to testlist01.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    by_class: dict[str, list[str]] = {}
    for label in labels:
        source = Path(media_root) / label.video
        if not source.is_file():
            logger.warning("labelled video %s not found under %s; skipped", label.video, media_root)
            continue
        by_class.setdefault(_folder_name(label.class_name), []).append(label.video)
    if not by_class:
        raise LabelImportError(f"none of the labelled videos exist under {media_root}")
    rng = np.random.default_rng(seed)
    classes = sorted(by_class)
    train_lines: list[str] = []
    test_lines: list[str] = []
    for label_number, class_name in enumerate(classes, start=1):
        videos = sorted(set(by_class[class_name]))
        test_count = math.ceil(test_fraction * len(videos)) if len(videos) > 1 and test_fraction > 0 else 0
        test_videos = set(rng.permutation(videos)[:test_count].tolist())
        for video in videos:
            relative = f"{class_name}/{_folder_name('_'.join(Path(video).parts))}"
            _place(Path(media_root) / video, Path(out_dir) / VIDEOS_DIRNAME / relative, link)
            if video in test_videos:
                test_lines.append(relative)
            else:
                train_lines.append(f"{relative} {label_number}")
    lists_dir = Path(out_dir) / LISTS_DIRNAME
    lists_dir.mkdir(parents=True, exist_ok=True)
    class_lines = [f"{number} {name}" for number, name in enumerate(classes, start=1)]
    (lists_dir / CLASS_INDEX_FILENAME).write_text("\n".join(class_lines) + "\n")
    (lists_dir / "trainlist01.txt").write_text("\n".join(train_lines) + "\n")
    (lists_dir / "testlist01.txt").write_text("\n".join(test_lines) + "\n")
    return Ucf101Index.from_folder(Path(out_dir), split=1)


def _folder_name(class_name: str) -> str:
    return re.sub(r"[\s/\\]+", "_", class_name.strip())


def _place(source: Path, target: Path, link: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()
    if link:
        target.symlink_to(source.resolve())
    else:
        shutil.copy2(source, target)


def _guess_format(path: Path) -> LabelFormat:
    if path.is_dir() or path.suffix.lower() == ".json":
        return "labelme"
    if path.suffix.lower() == ".csv":
        return "csv"
    if path.suffix.lower() == ".xml":
        return "cvat"
    raise LabelImportError(f"{path}: cannot tell the label format from the name; pass it explicitly")


def _normalise(media_path: str) -> str:
    return media_path.strip().replace("\\", "/").removeprefix("./")
