"""Array cache files are seen whole or not at all."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest

from training.array_files import save_arrays


def test_the_arrays_land_at_exactly_the_path_and_read_back(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "clip.v2"  # no .npz suffix: np.savez on a name would add one
    save_arrays(target, stacks=np.arange(6).reshape(2, 3), labels=np.array([1, 0]))
    with np.load(target) as stored:
        assert stored["stacks"].tolist() == [[0, 1, 2], [3, 4, 5]] and stored["labels"].tolist() == [1, 0]
    assert [path.name for path in (tmp_path / "cache").iterdir()] == ["clip.v2"]


def test_a_writer_stopped_midway_leaves_neither_the_file_nor_its_part(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def dies_midway(handle: BinaryIO, **arrays: np.ndarray) -> None:
        handle.write(b"PK half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        save_arrays(tmp_path / "clip.npz", stacks=np.zeros(3))
    assert list(tmp_path.iterdir()) == []
