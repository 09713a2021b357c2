from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.motion import MotionSettings
from training.motion_probe import MotionData, ProbeSettings, burst_frame_accuracy, load_motion_data, within_clip_energy
from training.synth import SynthSettings, generate_dataset
from training.ucf101 import Ucf101Index


def _clips(seed: int, num_clips: int = 16, num_candidates: int = 6, size: int = 32) -> MotionData:
    """Two 'actions': a blob that brightens (class 0) or darkens (class 1), somewhere in the frame, on the
    burst candidates; idle candidates hold only noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(num_clips) % 2
    stacks = rng.normal(0.0, 0.05, size=(num_clips, num_candidates, 3, size, size))
    in_burst = np.zeros((num_clips, num_candidates), dtype=bool)
    for clip, label in enumerate(labels):
        for position in rng.choice(np.arange(1, num_candidates), size=2, replace=False):  # 0 has no predecessor
            y, x = rng.integers(4, size - 12, size=2)
            stacks[clip, position, :, y:y + 8, x:x + 8] += 1.0 if label == 0 else -1.0
            in_burst[clip, position] = True
    return MotionData(stacks.astype(np.float16), in_burst, labels)


def test_within_clip_energy_ranks_the_frames_where_something_moves_first() -> None:
    data = _clips(2)
    picked = np.argsort(-within_clip_energy(data.stacks), axis=1)[:, :2]
    assert np.take_along_axis(data.in_burst, picked, axis=1).all()
    assert np.isneginf(within_clip_energy(data.stacks)[:, 0]).all()  # no predecessor, no difference


@pytest.mark.parametrize("supervision", ["burst", "clip", "energy"])
def test_probe_learns_a_motion_that_tells_two_classes_apart(supervision: str) -> None:
    settings = ProbeSettings(epochs=6, batch_size=8, max_roll_px=2, energy_frames=2)
    accuracy = burst_frame_accuracy(_clips(0), _clips(1), 2, supervision, settings)  # type: ignore[arg-type]
    assert accuracy >= 0.9


def test_the_stack_cache_holds_only_complete_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = generate_dataset(SynthSettings(num_classes=2, clips_per_class=2, groups=2, width=64, height=48, fps=8.0,
                                          seconds=1.0), tmp_path / "set", progress=False)
    items = Ucf101Index.from_folder(root).train
    first = load_motion_data(root, items, MotionSettings(), 4, tmp_path / "cache")
    cached = sorted(path.name for path in (tmp_path / "cache").rglob("*") if path.is_file())
    assert len(cached) == len(items) and all(name.endswith(".npz") and not name.startswith(".") for name in cached)
    again = load_motion_data(root, items, MotionSettings(), 4, tmp_path / "cache")
    assert np.array_equal(again.stacks, first.stacks)

    def dies_midway(target: object, **arrays: np.ndarray) -> None:  # the writer is stopped while writing
        if isinstance(target, str | Path):
            Path(target).write_bytes(b"PK half a file")
        else:
            target.write(b"PK half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        load_motion_data(root, items, MotionSettings(), 4, tmp_path / "other-cache")
    assert not [path for path in (tmp_path / "other-cache").rglob("*") if path.is_file()]  # nothing a reader would take
