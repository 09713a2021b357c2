"""A candidate's data: the base set and the labelled windows merged into one UCF101-layout folder of symlinks
(no video is copied), and the held-out items both models are compared on.

Training list: the base train split, the labelled set's train list and the replay set's. Held out, never trained
on: the base test split (forgetting) and the labelled and replay sets' test lists, which the archive export
draws in time blocks with an embargo, so overlapping neighbouring windows never sit on both sides. An optional
base check set (more clips of the base distribution, none trained on) joins the base test, where the test split
is too small to tell forgetting from chance. The replay set holds the latest labelled windows of the site's
other cameras: their held-out half checks the candidate on live scenes that did not change, which the base
test's synthetic clips cannot, and their training half keeps those scenes in its data. Measured offline on a demo
request (cam0 shifted; 269 labelled windows of cam1-3, none trained on): production 240 right, candidates
without replay 243 and 243 (seeds 0, 1), with replay 242 and 248; every candidate, with or without, named three
of cam1's idle windows JumpingDisc that production kept idle, and got six of its JumpingDisc windows right that
production missed (the demo's false events on cam1 after a promotion): a trade of errors, not forgetting. It
costs about 9 s of CPU; in the demo, request to promotion took 151 s with 16 windows a camera and 93 s and 160 s
in two runs without (the worker's nice 19 beside the stream varies more than that). No measured gain, some cost:
off by default (`retrain.replay_per_camera`).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from training.ucf101 import CLASS_INDEX_FILENAME, LISTS_DIRNAME, VIDEOS_DIRNAME, Ucf101Index, VideoItem

logger = logging.getLogger(__name__)

LABELLED_PREFIX = "labelled_"  # keeps a labelled window's name apart from a base video of the same name
REPLAY_PREFIX = "replay_"


@dataclass(frozen=True)
class MergedData:
    root: Path  # UCF101-layout folder to train on
    classes: list[str]
    train_videos: int
    labelled_videos: int
    base_test: list[VideoItem]  # original paths; compared on by class name
    labelled_test: list[VideoItem]
    base_check: list[VideoItem]  # every clip of the base check set (its ids may repeat the base test's)
    replay_videos: int = 0  # replay windows found, training and held-out together
    replay_test: list[VideoItem] = field(default_factory=list)


def merge_training_sets(base: Path, labelled: Path | None, out: Path, base_check: Path | None = None,
                        replay: Path | None = None) -> MergedData:
    """Write `out` (replacing an earlier attempt's) from the base set, the labelled set and the replay set.
    Labelled or replayed classes the base does not have are appended to the class list."""
    base_index = Ucf101Index.from_folder(base)
    check_index = Ucf101Index.from_folder(base_check) if base_check is not None else None
    check = check_index.train + check_index.test if check_index is not None else []
    labelled_index = Ucf101Index.from_folder(labelled) if labelled is not None else None
    replay_index = Ucf101Index.from_folder(replay) if replay is not None else None
    classes = list(base_index.classes)
    extra = [name for index in (labelled_index, replay_index) if index is not None for name in index.classes]
    classes += [name for name in dict.fromkeys(extra) if name not in classes]
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
    replay_train = [_link(videos, item, REPLAY_PREFIX) for item in replay_index.train] if replay_index else []
    replay_test = replay_index.test if replay_index is not None else []
    (lists / CLASS_INDEX_FILENAME).write_text("".join(f"{index} {name}\n" for name, index in number.items()))
    (lists / "trainlist01.txt").write_text(
        "".join(f"{relative} {number[relative.split('/')[0]]}\n"
                for relative in train + labelled_train + replay_train))
    (lists / "testlist01.txt").write_text("".join(f"{relative}\n" for relative in test))
    labelled_count = len(labelled_train) + len(labelled_test)
    logger.info("merged %s, %s and %s into %s: %d classes, %d + %d + %d train videos, %d + %d base test, %d "
                "labelled and %d replayed held out", base, labelled, replay, out, len(classes), len(train),
                len(labelled_train), len(replay_train), len(test), len(check), len(labelled_test), len(replay_test))
    return MergedData(out, classes, len(train) + len(labelled_train) + len(replay_train), labelled_count,
                      base_index.test, labelled_test, check, len(replay_train) + len(replay_test), replay_test)


def _link(videos: Path, item: VideoItem, prefix: str) -> str:
    """Symlink one video into `videos/<class>/`; returns its path relative to `videos`."""
    relative = f"{item.class_name}/{prefix}{item.path.name}"
    target = videos / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(item.path.resolve())
    return relative
