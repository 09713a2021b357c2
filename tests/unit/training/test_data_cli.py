import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from tests.unit.training.tiny_videos import write_tiny_video, write_ucf_layout
from training.data_cli import register
from training.ucf101 import Ucf101Index


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_import_labels_from_csv_writes_a_layout_training_can_read(tmp_path: Path) -> None:
    media = tmp_path / "media"
    for index in range(4):
        write_tiny_video(media / f"clip{index}.avi", seed=index)
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\nclip0.avi,wave\nclip1.avi,wave\nclip2.avi,jump\nclip3.avi,jump\n")

    result = CliRunner().invoke(
        _app(), ["data", "import-labels", "--labels", str(labels), "--videos", str(media), "--out",
                 str(tmp_path / "ucf"), "--test-fraction", "0.5"]
    )

    assert result.exit_code == 0, result.output
    index = Ucf101Index.from_folder(tmp_path / "ucf")
    assert sorted(index.classes) == ["jump", "wave"]
    assert len(index.train) == 2 and len(index.test) == 2 and not index.missing


def test_import_labels_rejects_an_unknown_format(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\n")
    result = CliRunner().invoke(
        _app(), ["data", "import-labels", "--labels", str(labels), "--videos", str(tmp_path), "--out",
                 str(tmp_path / "ucf"), "--format", "yaml"]
    )
    assert result.exit_code != 0 and "yaml" in result.output


def test_curate_writes_a_report_with_reasons(tmp_path: Path) -> None:
    root = write_ucf_layout(tmp_path / "data")
    report = tmp_path / "report.json"

    result = CliRunner().invoke(
        _app(), ["data", "curate", "--data", str(root), "--report", str(report), "--candidates", "8"]
    )

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["videos_seen"] == 3 and summary["frames_seen"] == 3 * 8
    written = json.loads(report.read_text())
    assert written["frames_kept"] + sum(written["dropped_by_reason"].values()) == written["frames_seen"]
