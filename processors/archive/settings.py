"""Settings of the archive sink and its export; env names like ACTIONSTREAM_ARCHIVE__HORIZON_S=21600 and
ACTIONSTREAM_ARCHIVE__MAX_BYTES=20000000000."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from processors.settings import Stage2Settings
from streams.retention import SiteRetention
from streams.settings import KafkaSettings, ProducerSettings


class ArchiveOptions(BaseModel):
    root: Path = Field(Path("var/archive"), description="Where segments live (frames, outcomes, labels).")
    horizon_s: float = Field(6 * 3600.0, gt=0, description="Label horizon: data older than this (event time for "
                             "frames and outcomes, arrival for labels) is evicted.")
    max_bytes: int = Field(20 * 1024**3, gt=0, description="Disk cap of the archive: past it, the oldest segments "
                           "go first.")
    segment_s: int = Field(60, ge=1, description="Whole seconds of one camera's frames (or a site's outcomes and "
                             "labels) per segment file.")
    group_id: str = Field("actionstream-archive", description="Consumer group: sinks with one id share the cameras.")
    poll_records: int = Field(500, ge=1, description="Records taken from Kafka at a time.")
    poll_s: float = Field(0.5, gt=0, description="Longest wait for records (stop checks).")
    flush_s: float = Field(2.0, gt=0, description="Sync to disk and commit offsets at least this often.")
    evict_s: float = Field(30.0, gt=0, description="How often the horizon and the disk cap are enforced.")
    test_block_s: float = Field(120.0, gt=0, description="Export: windows are held out for test in blocks of "
                                "this much event time.")
    test_share: float = Field(0.2, gt=0, lt=1, description="Export: share of the time blocks held out for test.")


class ArchiveSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_", env_nested_delimiter="__")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    producer: ProducerSettings = Field(default_factory=ProducerSettings)
    sites: list[str] = Field(default_factory=lambda: ["demo"], description="Sites whose frames and labels to keep.")
    stage2: Stage2Settings = Field(default_factory=Stage2Settings)
    archive: ArchiveOptions = Field(default_factory=ArchiveOptions)
    retention: dict[str, SiteRetention] = Field(
        default_factory=dict, description="Per site: `archive_h` replaces the horizon for its segments."
    )
    metrics_port: int = Field(9467, description="Prometheus port of this process (0: none).")
