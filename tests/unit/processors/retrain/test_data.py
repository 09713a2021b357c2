"""The merged training folder: symlinks only, base and labelled train lists, held-out items kept apart."""

from __future__ import annotations

from pathlib import Path

from processors.retrain.data import LABELLED_PREFIX, REPLAY_PREFIX, merge_training_sets
from training.ucf101 import Ucf101Index


def _layout(root: Path, classes: list[str], train: list[str], test: list[str]) -> Path:
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("".join(f"{n} {name}\n" for n, name in enumerate(classes, start=1)))
    for relative in train + test:
        path = root / "UCF-101" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(relative.encode())
    (lists / "trainlist01.txt").write_text("".join(f"{r} {classes.index(r.split('/')[0]) + 1}\n" for r in train))
    (lists / "testlist01.txt").write_text("".join(f"{r}\n" for r in test))
    return root


def test_merge_links_train_lists_and_keeps_held_out_items_apart(tmp_path: Path) -> None:
    base = _layout(tmp_path / "base", ["Run", "Wave"], ["Run/a.avi", "Wave/b.avi"], ["Run/c.avi"])
    labelled = _layout(tmp_path / "new", ["Wave", "Fall"], ["Wave/b.avi", "Fall/d.mp4"], ["Fall/e.mp4", "Wave/f.mp4"])

    merged = merge_training_sets(base, labelled, tmp_path / "out")
    index = Ucf101Index.from_folder(merged.root)

    assert merged.classes == index.classes == ["Run", "Wave", "Fall"]  # a new class is appended
    assert sorted(item.video_id for item in index.train) == [
        f"Fall/{LABELLED_PREFIX}d", "Run/a", "Wave/b", f"Wave/{LABELLED_PREFIX}b"]
    assert [item.video_id for item in index.test] == ["Run/c"]
    assert all(item.path.is_symlink() for item in index.train + index.test)
    assert (index.video_root / f"Wave/{LABELLED_PREFIX}b.avi").resolve() == (labelled / "UCF-101/Wave/b.avi").resolve()
    assert [item.video_id for item in merged.labelled_test] == ["Fall/e", "Wave/f"]
    assert [item.video_id for item in merged.base_test] == ["Run/c"]
    assert (merged.train_videos, merged.labelled_videos) == (4, 4)


def test_merge_replaces_an_earlier_attempt_and_works_without_labels(tmp_path: Path) -> None:
    base = _layout(tmp_path / "base", ["Run"], ["Run/a.avi"], ["Run/c.avi"])
    (tmp_path / "out" / "UCF-101" / "Stale").mkdir(parents=True)

    merged = merge_training_sets(base, None, tmp_path / "out")

    assert not (tmp_path / "out" / "UCF-101" / "Stale").exists()
    assert (merged.train_videos, merged.labelled_videos, merged.labelled_test) == (1, 0, [])


def test_a_base_check_set_joins_the_held_out_base_items_whole(tmp_path: Path) -> None:
    base = _layout(tmp_path / "base", ["Run"], ["Run/a.avi"], ["Run/c.avi"])
    check = _layout(tmp_path / "check", ["Run"], ["Run/a.avi"], ["Run/c.avi"])  # other clips, the same names

    merged = merge_training_sets(base, None, tmp_path / "out", base_check=check)

    assert [item.path for item in merged.base_check] == [check / "UCF-101/Run/a.avi", check / "UCF-101/Run/c.avi"]
    assert [item.video_id for item in merged.base_test] == ["Run/c"]
    assert [item.video_id for item in Ucf101Index.from_folder(merged.root).train] == ["Run/a"]  # never trained on


def test_replayed_windows_of_other_cameras_train_and_are_held_out_apart(tmp_path: Path) -> None:
    base = _layout(tmp_path / "base", ["Run"], ["Run/a.avi"], ["Run/c.avi"])
    labelled = _layout(tmp_path / "new", ["Fall"], ["Fall/cam0_1.mp4"], ["Fall/cam0_2.mp4"])
    replay = _layout(tmp_path / "replay", ["Fall", "Idle"], ["Idle/cam1_1.mp4"], ["Fall/cam1_2.mp4", "Idle/cam2_3.mp4"])

    merged = merge_training_sets(base, labelled, tmp_path / "out", replay=replay)
    index = Ucf101Index.from_folder(merged.root)

    assert merged.classes == ["Run", "Fall", "Idle"]  # a class of both sets is appended once
    assert sorted(item.video_id for item in index.train) == [
        f"Fall/{LABELLED_PREFIX}cam0_1", f"Idle/{REPLAY_PREFIX}cam1_1", "Run/a"]
    assert [item.video_id for item in merged.replay_test] == ["Fall/cam1_2", "Idle/cam2_3"]
    assert [item.video_id for item in merged.labelled_test] == ["Fall/cam0_2"]
    assert (merged.train_videos, merged.labelled_videos, merged.replay_videos) == (3, 2, 3)
