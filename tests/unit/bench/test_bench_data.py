"""The bench sets the selection benches generate: a folder per class set, and a set of other classes refused with
one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from actionstream.cli import app
from bench.selection import BenchClassesMismatch, default_bench_dir, ensure_bench_data
from training.synth import SynthSettings, generate_dataset


def _class_index(folder: Path, classes: list[str]) -> Path:
    lists = folder / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {name}\n" for i, name in enumerate(classes)))
    return folder


def test_the_default_bench_folder_is_named_after_the_classes() -> None:
    with_idle = SynthSettings(idle_class=True).class_names
    shapes = SynthSettings().class_names
    articulated = SynthSettings(family="articulated", num_classes=8).class_names
    assert default_bench_dir("shapes", with_idle) == Path("var/data/synthetic-bench")  # the demo's, as before
    assert default_bench_dir("shapes", shapes) == Path("var/data/synthetic-bench-shapes5")
    assert default_bench_dir("articulated", articulated) == Path("var/data/synthetic-bench-articulated")
    assert default_bench_dir("articulated", [*articulated[:3], "idle"]) == Path(
        "var/data/synthetic-bench-articulated3-idle")


def test_a_bench_folder_of_other_classes_is_refused(tmp_path: Path) -> None:
    folder = _class_index(tmp_path / "bench", SynthSettings(idle_class=True).class_names)
    with pytest.raises(BenchClassesMismatch, match="holds the classes"):
        ensure_bench_data(folder, SynthSettings().class_names, "shapes")
    assert ensure_bench_data(folder, SynthSettings(idle_class=True).class_names, "shapes") == folder


def test_the_motion_bench_names_data_when_its_set_has_other_classes(tmp_path: Path) -> None:
    train = generate_dataset(SynthSettings(family="articulated", num_classes=2, clips_per_class=2, groups=2,
                                           width=64, height=48, fps=8.0, seconds=1.0, seed=7), tmp_path / "train",
                             progress=False)
    bench = _class_index(tmp_path / "bench", SynthSettings(family="articulated", num_classes=3).class_names)
    result = CliRunner().invoke(app, ["bench", "selection", "--recipe", "motion-energy", "--family", "articulated",
                                      "--train-data", str(train), "--data", str(bench), "--seeds", "0"])
    message = " ".join(result.output.replace("│", " ").split())  # the error box wraps and frames its lines
    assert result.exit_code != 0
    assert "Invalid value for --data: the bench set" in message and "holds the classes ['Wave', 'Clap', 'Jump']" \
        in message
