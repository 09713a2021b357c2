"""`actionstream data ...`: bring labelled videos into the UCF101 layout, augment offline, curation report."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import cast

import typer

from training.labels import LabelFormat


class LabelFileFormat(StrEnum):
    csv = "csv"
    labelme = "labelme"
    cvat = "cvat"


data_app = typer.Typer(help="Data preparation for training.", no_args_is_help=True)


@data_app.command("import-labels")
def import_labels(
    labels: Path = typer.Option(..., "--labels", exists=True, help="CSV (path,label), LabelMe JSON or CVAT XML."),
    videos: Path = typer.Option(..., "--videos", exists=True, file_okay=False, help="Folder the label paths are in."),
    out: Path = typer.Option(..., "--out", help="UCF101-layout folder to write."),
    label_format: LabelFileFormat | None = typer.Option(None, "--format", help="Default: guessed from the file."),
    test_fraction: float = typer.Option(0.25, help="Share of each class's videos in testlist01."),
    seed: int = typer.Option(0, help="Seed of the train/test split."),
    copy: bool = typer.Option(False, help="Copy the videos instead of symlinking them."),
) -> None:
    """Lay video-level labels out as a UCF101 folder that `actionstream train --data` reads."""
    from training.labels import LabelImportError, read_labels, write_ucf101_layout

    try:
        entries = read_labels(labels, cast("LabelFormat", label_format.value) if label_format else None)
    except LabelImportError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    index = write_ucf101_layout(entries, videos, out, test_fraction=test_fraction, seed=seed, link=not copy)
    typer.echo(f"{len(index.train)} train and {len(index.test)} test videos in {len(index.classes)} classes -> {out}")


@data_app.command("augment")
def augment(
    data: Path = typer.Option(..., "--data", exists=True, help="UCF101-layout folder."),
    out: Path = typer.Option(..., "--out", help="Folder for the augmented UCF101-layout copy."),
    copies: int = typer.Option(2, min=1, help="Augmented versions of each training video."),
    split: int = typer.Option(1, min=1, max=3, help="Official split number."),
) -> None:
    """Offline augmentation: originals plus augmented copies of each training video (clip-consistent)."""
    from training.augment import AugmentSettings, write_augmented_copy
    from training.ucf101 import Ucf101Index

    index = write_augmented_copy(Ucf101Index.from_folder(data, split), out, AugmentSettings(), copies)
    typer.echo(f"{len(index.train)} train and {len(index.test)} test videos -> {out}")


@data_app.command("curate")
def curate_report(
    data: Path = typer.Option(..., "--data", exists=True, help="UCF101-layout folder."),
    report: Path = typer.Option(Path("var/curation-report.json"), help="Where to write the JSON report."),
    candidates: int = typer.Option(32, help="Candidate frames per video (T)."),
    split: int = typer.Option(1, min=1, max=3, help="Official split number."),
) -> None:
    """Which candidate frames curation drops (blurred, badly exposed, near-duplicate) and why."""
    from training.curation import CurationSettings, curate
    from training.ucf101 import Ucf101Index

    index = Ucf101Index.from_folder(data, split)
    _, result = curate(index.train + index.test, CurationSettings(), candidates)
    result.write_json(report)
    summary = result.to_dict()
    typer.echo(json.dumps({key: value for key, value in summary.items() if key not in ("dropped", "settings")}))


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
