"""Settings of the retrain worker, one root built at the entry point. Env names like
ACTIONSTREAM_RETRAIN__BASE_DATA=var/data/synthetic or ACTIONSTREAM_TRACKING__TRACKING_URI=sqlite:///..."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.registry_retention import RegistryRetention
from processors.retrain.shadow import ShadowSettings
from streams.settings import KafkaSettings
from training.promotion import PromotionSettings
from training.tracking import TrackingSettings

RETRAIN_CONFIG = Path(__file__).resolve().parents[2] / "training" / "configs" / "retrain.yaml"
WARM_START_CONFIG = RETRAIN_CONFIG.with_name("retrain_warm.yaml")


class RetrainOptions(BaseModel):
    base_data: Path = Field(Path("var/data/synthetic"), description="Base training set (UCF101 layout): its "
                            "train split joins every candidate's training data, its test split every comparison.")
    base_check: Path | None = Field(None, description="More clips of the base distribution (UCF101 layout, none "
                                    "trained on; both lists are used) that join the base test split in the "
                                    "forgetting check, where that split alone is too small to tell forgetting "
                                    "from chance.")
    labelled_dir: Path | None = Field(None, description="A UCF101-layout folder of labelled windows to use "
                                      "instead of an archive export (its test list is the held-out share).")
    labelled_scope: Literal["request_cameras", "site"] = Field(
        "request_cameras", description="Archive windows exported: the request's cameras, or the whole site's.")
    labelled_since: Literal["archive", "evidence"] = Field(
        "archive", description="Archive windows exported from: the archive's start, or the start of the request's "
        "evidence (only windows of the drifted scene, when older ones show the scene before the shift).")
    # Off by default: on a demo request it changed no accuracy beyond the seed spread, and it costs about 9 s of
    # CPU (export, X_i cache, training, comparison) that the worker's low priority stretches (processors/retrain/
    # data.py has the figures).
    replay_per_camera: int = Field(0, ge=0, description="The latest labelled windows of each of the site's other "
                                   "cameras that join the candidate's data (archive export), half of them (time "
                                   "blocks) trained on and half held out for a forgetting check on the live "
                                   "scenes that did not change (processors/retrain/data.py). 0: none.")
    replay_dir: Path | None = Field(None, description="A UCF101-layout folder of other cameras' windows to replay "
                                    "instead of an archive export; with `labelled_dir` and without this, none.")
    train_configs: list[Path] = Field(default_factory=lambda: [RETRAIN_CONFIG],
                                      description="Training config files over the defaults (a small, fast run).")
    warm_start: bool = Field(True, description="Start the candidate from the production model's weights (same "
                             "classes and input; training/warm_start.py) and train the shorter schedule of "
                             "`warm_start_config`; false: from random weights, the full retrain schedule.")
    warm_start_config: Path = Field(WARM_START_CONFIG, description="Training config read after `train_configs` "
                                    "when the candidate starts warm.")
    train_overrides: list[str] = Field(default_factory=list, description="'a.b=c' overrides on top of them.")
    production_alias: str = Field("production", description="The alias that serves and that a promotion moves.")
    work_dir: Path = Field(Path("var/retrain"), description="Per-request folders: merged data, runs, attempts.")
    max_attempts: int = Field(2, ge=1, description="Starts of one request (a worker killed mid-request re-runs "
                              "it); past this the request ends as failed instead of killing workers forever.")
    seed: int = Field(0, description="Seed of the comparison's selection draws.")


class WorkerOptions(BaseModel):
    group_id: str = Field("actionstream-retrain")
    # Stable across restarts, so a restarted worker fences its predecessor's open transaction at once.
    transactional_id: str = Field(default_factory=lambda: f"actionstream-retrain-{socket.gethostname()}",
                                  description="Unique per worker instance; the topic prefix is prepended.")
    transaction_timeout_ms: int = Field(60_000, gt=0)
    # Training runs between two polls: the group must not hand the request to another worker meanwhile.
    max_poll_interval_ms: int = Field(6 * 3_600_000, gt=0, description="Longest request before the group "
                                      "considers the worker dead (librdkafka max.poll.interval.ms).")
    retry_backoff_s: float = Field(0.5, ge=0, description="Pause before retrying a retriable transaction step.")
    poll_s: float = Field(1.0, gt=0, description="Poll timeout while no request is waiting (stop checks).")
    read_timeout_s: float = Field(30.0, gt=0, description="Longest wait to read retrain-results back at start.")
    # Training is batch work on the stream's cores: at nice 19 it takes only what the stream leaves idle.
    cpu_nice: int = Field(19, ge=0, le=19, description="Niceness added to the worker at start (0: the stream's "
                          "priority); its threads, the Kafka client's included, inherit it.")
    # One thread: a low-priority thread team stalls at every barrier while one of its threads waits for a core.
    threads: int = Field(1, ge=0, description="Threads of training and evaluation (torch and the ONNX encoder); "
                         "0: each runtime's default, one per core.")


class RetrainSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_", env_nested_delimiter="__")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings, description="MLflow runs and registry.")
    registry_retention: RegistryRetention = Field(default_factory=RegistryRetention,
                                                  description="Disk cap of the registry's versions and artifacts.")
    retrain: RetrainOptions = Field(default_factory=RetrainOptions)
    promotion: PromotionSettings = Field(default_factory=PromotionSettings)
    shadow: ShadowSettings = Field(default_factory=ShadowSettings, description="An accepted candidate's shadow "
                                   "run on live clips before the production alias moves.")
    worker: WorkerOptions = Field(default_factory=WorkerOptions)
    metrics_port: int = Field(9469, description="Prometheus port of this process (0: none).")
