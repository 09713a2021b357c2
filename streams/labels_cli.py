"""`actionstream labels add|import`: late ground truth from people, published to `labels.<site>`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from streams.schemas import Label

labels_app = typer.Typer(help="Late ground truth for windows (joined to outcomes by event id).",
                         no_args_is_help=True)

_SITE = typer.Option("demo", help="Site whose labels topic to publish to.")


def _publish(site: str, labels: list[Label]) -> None:
    from streams.labels import LabelPublisher
    from streams.settings import StreamsSettings

    try:
        count = LabelPublisher(StreamsSettings().kafka, site).publish(labels)
    except RuntimeError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"published {count} label{'s' if count != 1 else ''} to site {site}")


@labels_app.command("add")
def labels_add(
    event_id: str = typer.Argument(..., help="The window's event id (from `tail actions` or the outcomes topic)."),
    label: str = typer.Argument(..., help="The true class (an idle class for a window without action)."),
    site: str = _SITE,
    source: str = typer.Option("cli", help="Who labelled it."),
) -> None:
    """Publish one label."""
    from pydantic import ValidationError

    from streams.schemas import Label

    try:
        record = Label(event_id=event_id, label=label, source=source)
    except ValidationError as error:
        first = error.errors()[0]
        typer.secho(f"label refused: {first['loc'][0]}: {first['msg']}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    _publish(site, [record])


@labels_app.command("import")
def labels_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="CSV with columns event_id,label[,source][,labelled_at]."),
    site: str = _SITE,
    source: str = typer.Option("import", help="Source of rows that name none."),
) -> None:
    """Publish every valid row of a CSV file; rows that do not parse are listed and not published."""
    from streams.labels import parse_label_csv

    labels, refused = parse_label_csv(file.read_text(encoding="utf-8", errors="replace"), source)
    for row in refused:
        typer.secho(f"{file}:{row.line}: refused: {row.reason}", fg=typer.colors.YELLOW, err=True)
    if labels:
        _publish(site, labels)
    if refused:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(labels_app, name="labels")
