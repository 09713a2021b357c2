"""How long each site's data is kept: camera footage is personal data, and each site's rules differ.

Set per site as JSON, e.g. ACTIONSTREAM_RETENTION='{"lobby": {"frames_h": 1, "actions_h": 168, "archive_h": 24}}'.
Unset values keep the catalogue's topic retention and the archive's label horizon. Shared topics (scored frames,
clips, outcomes) hold every site's records and keep the catalogue's retention."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from streams.topics import Topic

_HOUR_MS = 3_600_000


class SiteRetention(BaseModel):
    frames_h: float | None = Field(None, gt=0, description="frames.<site>: hours a frame is kept.")
    labels_h: float | None = Field(None, gt=0, description="labels.<site>: hours a label is kept.")
    actions_h: float | None = Field(None, gt=0, description="actions.<site>: hours an action event is kept.")
    incidents_h: float | None = Field(None, gt=0, description="incidents.<site>: hours an incident record is kept.")
    archive_h: float | None = Field(None, gt=0, description="Hours the site's windows stay in the frame archive.")

    def topic_retention_ms(self, topic: Topic) -> int | None:
        """The site's retention of one of its own topics, or None for the catalogue's."""
        # Keyed by the topics' names: Topic is a str enum, and the catalogue imports this module's settings.
        hours = {"frames": self.frames_h, "labels": self.labels_h, "actions": self.actions_h,
                 "incidents": self.incidents_h}.get(topic)
        return None if hours is None else round(hours * _HOUR_MS)

    @property
    def archive_s(self) -> float | None:
        return None if self.archive_h is None else self.archive_h * 3600.0
