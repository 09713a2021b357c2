"""Settings of the local monitoring stack: Prometheus, Alertmanager and the project's alert receiver."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.http_auth import HttpAuthSettings

RULES_DIR = Path(__file__).resolve().parent
PROCFILE = RULES_DIR.parents[1] / "Procfile"


class MonitoringSettings(BaseSettings):
    """Ports, intervals and files of the stack. The defaults are short so that alerts show within a demo run;
    a production Prometheus would scrape every 15-30 s."""

    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_MONITORING_")

    host: str = Field("127.0.0.1", description="Address every part of the stack listens on.")
    # Not 9090/9093: Kafka's controller listens on 9093 by default.
    prometheus_port: int = Field(9390, description="Prometheus web and API port.")
    alertmanager_port: int = Field(9393, description="Alertmanager web and API port.")
    receiver_port: int = Field(9395, description="Port of the webhook receiver that records notifications.")
    prometheus: str = Field("prometheus", description="Prometheus executable (Debian package prometheus).")
    alertmanager: str = Field("prometheus-alertmanager", description="Alertmanager executable (Debian package "
                              "prometheus-alertmanager).")
    state_dir: Path = Field(Path("var/monitoring"), description="Configs, targets, TSDB, logs, pid files and "
                            "the notifications file.")
    rules_dir: Path = Field(RULES_DIR, description="Folder of the rule files (*rules*.yml).")
    scrape_interval_s: float = Field(2.0, gt=0, description="How often every target is scraped.")
    evaluation_interval_s: float = Field(2.0, gt=0, description="How often rules and alerts are evaluated.")
    group_wait_s: float = Field(1.0, ge=0, description="Alertmanager: wait before a new group's first notification.")
    group_interval_s: float = Field(2.0, gt=0, description="Alertmanager: wait before notifying a group's changes.")
    repeat_interval_s: float = Field(3600.0, gt=0, description="Alertmanager: re-send a still-firing alert after.")
    resolve_timeout_s: float = Field(60.0, gt=0, description="Alertmanager: an alert not re-sent for this long "
                                     "is resolved.")
    retention: str = Field("1d", description="Prometheus TSDB retention (--storage.tsdb.retention.time).")
    retention_size: str = Field("1GB", pattern=r"^[0-9]+(B|KB|MB|GB|TB|PB|EB)$", description="Disk cap of the "
                                "TSDB (--storage.tsdb.retention.size): the oldest blocks go first beyond it.")
    notifications_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Disk cap of the notifications "
                                         "file; beyond it the oldest alerts go.")
    http_auth: HttpAuthSettings = Field(default_factory=HttpAuthSettings, description="The credential the "
                                        "scrapes send when the endpoints require one (ACTIONSTREAM_HTTP_AUTH__*).")
    start_timeout_s: float = Field(30.0, gt=0, description="How long to wait for each part to answer.")

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.host}:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://{self.host}:{self.alertmanager_port}"

    @property
    def receiver_url(self) -> str:
        return f"http://{self.host}:{self.receiver_port}/alerts"

    @property
    def targets_file(self) -> Path:
        return self.state_dir / "targets.json"

    @property
    def notifications_file(self) -> Path:
        return self.state_dir / "notifications.jsonl"

    def rule_files(self) -> list[Path]:
        return sorted(self.rules_dir.resolve().glob("*rules*.yml"))
