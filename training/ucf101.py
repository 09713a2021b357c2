"""Index of a UCF101-layout folder: class list, official train/test split, resolved video paths.

Layout (as published at crcv.ucf.edu):
    <root>/UCF-101/<Class>/v_<Class>_gXX_cYY.avi
    <root>/ucfTrainTestlist/classInd.txt        "1 ApplyEyeMakeup" (1-based)
    <root>/ucfTrainTestlist/trainlist0{1,2,3}.txt "ApplyEyeMakeup/v_..._c01.avi 1"
    <root>/ucfTrainTestlist/testlist0{1,2,3}.txt  "ApplyEyeMakeup/v_..._c01.avi"
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

logger = logging.getLogger(__name__)

VIDEOS_DIRNAME = "UCF-101"
LISTS_DIRNAME = "ucfTrainTestlist"
CLASS_INDEX_FILENAME = "classInd.txt"
VIDEO_SUFFIXES: tuple[str, ...] = (".avi", ".mp4")
OFFICIAL_SPLITS: tuple[int, ...] = (1, 2, 3)

Subset = Literal["train", "test"]


class Ucf101LayoutError(FileNotFoundError):
    """The folder does not have the UCF101 layout (no video folder, split lists or class index)."""


@dataclass(frozen=True)
class VideoItem:
    """One listed video: absolute path, 0-based label, class name and the path-derived id."""

    path: Path
    label: int
    class_name: str
    video_id: str  # relative path without extension, e.g. "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01"


@dataclass
class Ucf101Index:
    """Class list and the train/test items of one official split."""

    video_root: Path
    lists_root: Path
    split: int
    classes: list[str]
    train: list[VideoItem]
    test: list[VideoItem]
    missing: list[str] = field(default_factory=list)

    @classmethod
    def from_folder(cls, root: Path, split: int = 1) -> Ucf101Index:
        """Read the split lists of ``root``; listed files that do not exist are logged and skipped."""
        if split not in OFFICIAL_SPLITS:
            raise ValueError(f"UCF101 split must be one of {OFFICIAL_SPLITS}, got {split}")
        video_root, lists_root = locate_layout(Path(root))
        classes = read_class_index(lists_root / CLASS_INDEX_FILENAME)
        label_of = _class_lookup(classes)
        missing: list[str] = []
        subsets: dict[str, list[VideoItem]] = {}
        for subset in ("train", "test"):
            list_path = lists_root / f"{subset}list{split:02d}.txt"
            if not list_path.is_file():
                raise Ucf101LayoutError(f"split list {list_path} not found")
            subsets[subset] = _read_split_list(list_path, video_root, classes, label_of, missing)
        if missing:
            logger.warning(
                "%d listed videos are missing under %s (first: %s)", len(missing), video_root, missing[0]
            )
        logger.info(
            "UCF101 index %s split %d: %d classes, %d train, %d test videos",
            video_root, split, len(classes), len(subsets["train"]), len(subsets["test"]),
        )
        return cls(
            video_root=video_root,
            lists_root=lists_root,
            split=split,
            classes=classes,
            train=subsets["train"],
            test=subsets["test"],
            missing=missing,
        )

    def items(self, subset: Subset) -> list[VideoItem]:
        """The items of ``"train"`` or ``"test"``."""
        return self.train if subset == "train" else self.test

    def class_counts(self, subset: Subset) -> list[int]:
        """Number of videos per class (in class order) in one subset."""
        counts = Counter(item.label for item in self.items(subset))
        return [counts.get(label, 0) for label in range(len(self.classes))]


def locate_layout(root: Path) -> tuple[Path, Path]:
    """Find the video folder and the split-list folder for ``root``.

    ``root`` may contain ``UCF-101/`` and ``ucfTrainTestlist/``, or be the video folder itself with
    ``ucfTrainTestlist/`` inside it or beside it.
    """
    video_root = root / VIDEOS_DIRNAME if (root / VIDEOS_DIRNAME).is_dir() else root
    if not video_root.is_dir():
        raise Ucf101LayoutError(f"no UCF101 video folder at {root}")
    for lists_root in (root / LISTS_DIRNAME, video_root / LISTS_DIRNAME, root.parent / LISTS_DIRNAME):
        if (lists_root / CLASS_INDEX_FILENAME).is_file():
            return video_root, lists_root
    raise Ucf101LayoutError(f"no {LISTS_DIRNAME}/{CLASS_INDEX_FILENAME} in or beside {root}")


def read_class_index(path: Path) -> list[str]:
    """Class names in label order from ``classInd.txt`` ("<1-based index> <name>" per line)."""
    entries: dict[int, str] = {}
    for line_number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise Ucf101LayoutError(f"{path}:{line_number}: expected '<index> <class>', got {line!r}")
        entries[int(parts[0])] = parts[1]
    if sorted(entries) != list(range(1, len(entries) + 1)):
        raise Ucf101LayoutError(f"{path}: class indices must be 1..{len(entries)}, got {sorted(entries)}")
    return [entries[index] for index in range(1, len(entries) + 1)]


def resolve_video_path(video_root: Path, relative: str) -> Path | None:
    """The file for a listed relative path; accepts .avi/.mp4 whatever suffix the list names."""
    listed = video_root / relative
    if listed.is_file():
        return listed
    for suffix in VIDEO_SUFFIXES:
        candidate = listed.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def _class_lookup(classes: list[str]) -> dict[str, int]:
    # Case-insensitive fallback: published lists and folders disagree in case for a few classes.
    lookup = {name.lower(): label for label, name in enumerate(classes)}
    lookup.update({name: label for label, name in enumerate(classes)})
    return lookup


def _read_split_list(
    list_path: Path,
    video_root: Path,
    classes: list[str],
    label_of: dict[str, int],
    missing: list[str],
) -> list[VideoItem]:
    items: list[VideoItem] = []
    for line in list_path.read_text().splitlines():
        if not line.strip():
            continue
        relative = line.split()[0].replace("\\", "/")
        class_folder = PurePosixPath(relative).parts[0]
        label = label_of.get(class_folder, label_of.get(class_folder.lower()))
        if label is None:
            logger.warning("%s: class %r of %s is not in the class index", list_path, class_folder, relative)
            missing.append(relative)
            continue
        path = resolve_video_path(video_root, relative)
        if path is None:
            missing.append(relative)
            continue
        video_id = str(PurePosixPath(relative).with_suffix(""))
        items.append(VideoItem(path=path, label=label, class_name=classes[label], video_id=video_id))
    return items
