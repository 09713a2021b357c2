"""`actionstream sites purge NAME [--before DATE]`: delete a site's frame-derived data everywhere the platform
keeps it: its own topics, the frame archive, the HTML drift reports and the feature store's rows.

The stores are found with the same settings (and environment names) as the processes that write them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import typer
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from feature_store.settings import FeatureStoreSettings
from processors.archive.settings import ArchiveOptions
from processors.archive.storage import Segment, list_segments
from processors.drift.settings import ReportSettings
from streams.settings import KafkaSettings


class PurgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_", env_nested_delimiter="__")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    archive: ArchiveOptions = Field(default_factory=ArchiveOptions)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    features: FeatureStoreSettings = Field(default_factory=FeatureStoreSettings)


def purge_archive(options: ArchiveOptions, site: str, before: datetime | None) -> list[Segment]:
    """The site's segments (frames, outcomes, labels) that end before `before` (all, when None), deleted."""
    cutoff = None if before is None else before.timestamp()
    doomed = [segment for segment in list_segments(options.root, site=site)
              if cutoff is None or segment.start + options.segment_s <= cutoff]
    for segment in doomed:
        segment.path.unlink(missing_ok=True)
    return doomed


def purge_reports(reports: ReportSettings, site: str, before: datetime | None) -> list[Path]:
    """The site's HTML drift reports (named `<site>_<camera>_...`) written before `before`, deleted."""
    cutoff = None if before is None else before.timestamp()
    doomed = [path for path in reports.reports_dir.glob(f"{site}_*.html")
              if cutoff is None or path.stat().st_mtime < cutoff]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


@dataclass(frozen=True)
class PurgeSummary:
    topic_records: dict[str, int]
    archive_segments: int
    reports: int
    offline_rows: int
    online_rows: int
    online_supported: bool

    def lines(self, site: str) -> list[str]:
        lines = [f"{topic}: {count} records deleted" for topic, count in self.topic_records.items()]
        lines += [f"archive: {self.archive_segments} segments deleted", f"drift reports: {self.reports} deleted",
                  f"feature store: {self.offline_rows} history rows deleted, " + (
                      f"{self.online_rows} online values deleted" if self.online_supported
                      else "online rows left (Redis/Postgres: delete the site's keys there)")]
        lines.append(f"site {site}: shared topics (scored-frames, clips, outcomes) keep its records until their "
                     "retention ends")
        return lines


def purge_site(settings: PurgeSettings, site: str, before: datetime | None) -> PurgeSummary:
    from feature_store.purge import purge_site_rows
    from streams.purge import purge_site_topics

    topics = purge_site_topics(settings.kafka, site, before)
    segments = purge_archive(settings.archive, site, before)
    reports = purge_reports(settings.reports, site, before)
    rows = purge_site_rows(settings.features, site, before)
    return PurgeSummary(topics, len(segments), len(reports), rows.offline_rows, rows.online_rows,
                        rows.online_supported)


def sites_purge(
    name: str = typer.Argument(..., help="Site name."),
    before: datetime = typer.Option(None, help="Delete only data older than this (ISO date or time, UTC unless "
                                    "it says otherwise); default: all of it."),
) -> None:
    """Delete a site's frame-derived data: its topics' records, archive segments, drift reports, Feast rows."""
    from confluent_kafka import KafkaException

    from streams.access.acls import check_site_name

    try:
        check_site_name(name)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="NAME") from None
    cutoff = None if before is None else before if before.tzinfo else before.replace(tzinfo=UTC)
    try:
        summary = purge_site(PurgeSettings(), name, cutoff)
    except KafkaException as error:
        typer.secho(f"failed: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    typer.echo("\n".join(summary.lines(name)))


def register(app: typer.Typer) -> None:
    from streams.access.cli import sites_app

    sites_app.command("purge")(sites_purge)
