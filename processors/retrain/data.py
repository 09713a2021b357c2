"""A candidate's data: the base set and the labelled windows merged into one UCF101-layout folder of symlinks
(no video is copied), and the held-out items both models are compared on.

Training list: the base train split and the labelled set's train list. Held out, never trained on: the base
test split (forgetting) and the labelled set's test list, which the archive export draws in time blocks with
an embargo, so overlapping neighbouring windows never sit on both sides. An optional base check set (more clips
of the base distribution, none trained on) joins the base test, where the test split is too small to tell
forgetting from chance.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from training.ucf101 import CLASS_INDEX_FILENAME, LISTS_DIRNAME, VIDEOS_DIRNAME, Ucf101Index, VideoItem

logger = logging.getLogger(__name__)

LABELLED_PREFIX = "labelled_"  # keeps a labelled window's name apart from a base video of the same name


@dataclass(frozen=True)
class MergedData:
    root: Path  # UCF101-layout folder to train on
    classes: list[str]
    train_videos: int
    labelled_videos: int
    base_test: list[VideoItem]  # original paths; compared on by class name
    labelled_test: list[VideoItem]
    base_check: list[VideoItem]  # every clip of the base check set (its ids may repeat the base test's)


def merge_training_sets(base: Path, labelled: Path | None, out: Path, base_check: Path | None = None) -> MergedData:
    """Write `out` (replacing an earlier attempt's) from the base set and the labelled set. Labelled classes the
    base does not have are appended to the class list."""
    base_index = Ucf101Index.from_folder(base)
    check_index = Ucf101Index.from_folder(base_check) if base_check is not None else None
    check = check_index.train + check_index.test if check_index is not None else []
    labelled_index = Ucf101Index.from_folder(labelled) if labelled is not None else None
    classes = list(base_index.classes)
    extra = labelled_index.classes if labelled_index is not None else []
    classes += [name for name in extra if name not in classes]
    if out.exists():
        shutil.rmtree(out)
    videos, lists = out / VIDEOS_DIRNAME, out / LISTS_DIRNAME
    lists.mkdir(parents=True)
    number = {name: index for index, name in enumerate(classes, start=1)}
    train = [_link(videos, item, "") for item in base_index.train]
    test = [_link(videos, item, "") for item in base_index.test]
    labelled_train: list[str] = []
    labelled_test: list[VideoItem] = []
    if labelled_index is not None:
        labelled_train = [_link(videos, item, LABELLED_PREFIX) for item in labelled_index.train]
        labelled_test = labelled_index.test
    (lists / CLASS_INDEX_FILENAME).write_text("".join(f"{index} {name}\n" for name, index in number.items()))
    (lists / "trainlist01.txt").write_text(
        "".join(f"{relative} {number[relative.split('/')[0]]}\n" for relative in train + labelled_train))
    (lists / "testlist01.txt").write_text("".join(f"{relative}\n" for relative in test))
    labelled_count = len(labelled_train) + len(labelled_test)
    logger.info("merged %s and %s into %s: %d classes, %d + %d train videos, %d + %d base test, %d labelled "
                "held out", base, labelled, out, len(classes), len(train), len(labelled_train), len(test),
                len(check), len(labelled_test))
    return MergedData(out, classes, len(train) + len(labelled_train), labelled_count, base_index.test,
                      labelled_test, check)


def _link(videos: Path, item: VideoItem, prefix: str) -> str:
    """Symlink one video into `videos/<class>/`; returns its path relative to `videos`."""
    relative = f"{item.class_name}/{prefix}{item.path.name}"
    target = videos / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(item.path.resolve())
    return relative
