"""Settings of the web console: one root per process, env names like ACTIONSTREAM_CONSOLE__PORT=8050,
ACTIONSTREAM_CONSOLE__ADMIN_TOKEN=..., ACTIONSTREAM_CONSOLE__PROMETHEUS_URL=http://127.0.0.1:9090."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.prometheus.settings import MonitoringSettings
from processors.settings import ServingModelSettings
from streams.http_auth import HttpAuthSettings
from streams.settings import KafkaSettings


class ConsoleOptions(BaseModel):
    """What the console serves and how far back it reads."""

    host: str = Field("127.0.0.1", description="Interface the console listens on (localhost only by default).")
    port: int = Field(8050, ge=1, le=65535, description="HTTP port of the console.")
    admin_token: SecretStr | None = Field(None, description="Bearer token that allows the one write action "
                                          "(moving the production alias); None: the console is read-only.")
    site_passwords: dict[str, SecretStr] = Field(default_factory=dict, description="Console users of the sites "
                                                 "(user name = site name), each seeing only its own site; JSON, "
                                                 'e.g. {"site-a": "..."}. Any of them turns authentication on.')
    production_alias: str = Field("production", description="Registry alias that the write action moves.")
    publish_timeout_s: float = Field(30.0, gt=0, description="Longest wait for Kafka to acknowledge the "
                                     "model-updates record of a promotion.")
    prometheus_url: str = Field(default_factory=lambda: MonitoringSettings().prometheus_url,
                                description="Prometheus server queried for the charts (default: the local "
                                "stack's, `actionstream monitoring start`, ACTIONSTREAM_MONITORING_*).")
    prometheus_timeout_s: float = Field(2.0, gt=0, description="Longest wait for one Prometheus query.")
    chart_minutes: float = Field(15.0, gt=0, description="Time range of the latency and throughput charts.")
    chart_step_s: float = Field(15.0, gt=0, description="Resolution of the charts.")
    reports_dir: Path = Field(Path("var/reports"), description="Evidently HTML reports written by the drift job.")
    history_s: float = Field(3600.0, gt=0, description="How far back actions, drift reports and retrain results "
                             "are read when the console starts (status and model updates: the whole topic).")
    thumbnail_history_s: float = Field(60.0, gt=0, description="How far back clips are read at start: clips carry "
                                       "JPEGs, so an hour of them would be hundreds of MB.")
    thumbnails: int = Field(4, ge=1, description="Last selected frames shown per camera.")
    recent_events: int = Field(50, ge=1, description="Action events kept for a page opened late.")
    recent_updates: int = Field(20, ge=1, description="Model updates and retrain results kept.")
    sse_keepalive_s: float = Field(15.0, gt=0, description="A comment line this often keeps idle proxies from "
                                   "closing the live feed.")
    shutdown_grace_s: int = Field(2, ge=1, description="Open live-feed connections are cut after this long "
                                    "on SIGTERM (they never end on their own).")

    @property
    def read_only(self) -> bool:
        return self.admin_token is None or not self.admin_token.get_secret_value()


class ConsoleSettings(BaseSettings):
    """Root settings of `actionstream console`; Kafka, sites and the registry read the same variables as the
    processors (ACTIONSTREAM_KAFKA__*, ACTIONSTREAM_SITES, ACTIONSTREAM_MODEL__REGISTRY__*)."""

    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_", env_nested_delimiter="__")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    sites: list[str] = Field(default_factory=lambda: ["demo"], description="Sites whose actions topics are shown.")
    model: ServingModelSettings = Field(default_factory=ServingModelSettings)
    console: ConsoleOptions = Field(default_factory=ConsoleOptions)
    http_auth: HttpAuthSettings = Field(default_factory=HttpAuthSettings, description="The platform credential "
                                        "(ACTIONSTREAM_HTTP_AUTH__*): the operator's view of every site, and "
                                        "Prometheus's scrapes of /metrics.")
