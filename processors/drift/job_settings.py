"""Settings root of the drift job; env names like ACTIONSTREAM_DRIFT__WINDOW_S=60, ACTIONSTREAM_JOB__LATENESS_S=10."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from processors.drift.policy import PolicySettings
from processors.drift.settings import DriftSettings, ReportSettings
from processors.settings import ServingModelSettings
from streams.settings import KafkaSettings, ProducerSettings


class DriftJobOptions(BaseModel):
    """The job's plumbing: consumer, window closing, bounded memory, state."""

    group_id: str = Field("actionstream-drift", description="Consumer group. Run one job per group: a camera's "
                          "frames and outcomes sit on differently numbered partitions, so two members would split "
                          "a camera's window between them.")
    poll_records: int = Field(500, ge=1, description="Records taken from Kafka at a time.")
    poll_s: float = Field(0.5, gt=0, description="Longest wait for records (stop checks).")
    commit_s: float = Field(5.0, gt=0, description="Save the state and commit offsets at least this often.")
    lateness_s: float = Field(10.0, ge=0, description="A drift window closes once a camera's event time passes its "
                              "end by this much: outcomes trail frames by a selection window plus processing.")
    idle_close_s: float = Field(120.0, gt=0, description="Wall seconds without records from a camera after which "
                                "its open windows close anyway (a camera that went silent).")
    baseline_windows: int = Field(3, ge=1, description="Windows with enough frames and outcomes that make a "
                                  "camera's baseline, captured when it goes live or its model version changes.")
    baseline_outcomes: int = Field(100, ge=1, description="Window outcomes a baseline needs at least (more windows "
                                   "are taken until then): an action missing from a small baseline would make every "
                                   "later window that shows it a prediction drift.")
    held_outcomes: int = Field(50_000, ge=100, description="Outcomes kept (by event id, frames dropped) for labels "
                               "to join; the oldest go first.")
    observed_labels: int = Field(500, ge=1, description="Latest labelled windows per camera behind the observed "
                                 "accuracy and macro-F1.")
    state_dir: Path = Field(Path("var/drift"), description="Baselines and the job state (policy, joined labels, "
                            "closed windows) saved before offsets are committed.")
    report_queue: int = Field(8, ge=1, description="HTML reports waiting for the report thread; more are skipped.")
    # Drift windows are a minute long: a verdict some seconds later costs nothing, a stream window late does.
    cpu_nice: int = Field(10, ge=0, le=19, description="Niceness added to the job at start (0: the stream's "
                          "priority), so that its checks and HTML reports yield the cores to the stream's processes.")


class DriftJobSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_", env_nested_delimiter="__")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    producer: ProducerSettings = Field(default_factory=ProducerSettings)
    sites: list[str] = Field(default_factory=lambda: ["demo"], description="Sites whose cameras and labels to check.")
    model: ServingModelSettings = Field(default_factory=ServingModelSettings,
                                        description="The served model, whose bundle holds the training profile.")
    drift: DriftSettings = Field(default_factory=DriftSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    job: DriftJobOptions = Field(default_factory=DriftJobOptions)
    metrics_port: int = Field(9468, description="Prometheus port of this process (0: none).")
