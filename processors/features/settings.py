"""Settings of the feature sink; env names like ACTIONSTREAM_FEATURE_SINK__FLUSH_S=5 and
ACTIONSTREAM_FEATURES__DATA_DIR=/srv/features."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from feature_store.settings import FeatureStoreSettings
from processors.features.aggregates import AggregatorSettings
from streams.settings import KafkaSettings, ProducerSettings


class FeatureSinkOptions(BaseModel):
    group_id: str = Field("actionstream-feature-sink", description="Consumer group: sinks with one id share "
                          "the cameras.")
    batch_rows: int = Field(256, ge=1, description="Push once this many rows wait.")
    flush_s: float = Field(5.0, gt=0, description="Push at least this often while rows wait.")
    poll_records: int = Field(500, ge=1, description="Records taken from Kafka at a time.")
    poll_s: float = Field(0.5, gt=0, description="Longest wait for records (stop checks).")
    grace_s: float = Field(10.0, gt=0, description="An outcome waits at most this long for its window's frames.")
    retain_s: float = Field(30.0, gt=0, description="Frames kept behind a camera's latest one (covers the "
                            "outcome's delay after the window end).")
    motion_gap_s: float = Field(1.0, gt=0, description="Motion compares frames at most this far apart.")
    rate_windows: int = Field(15, ge=1, description="Windows the rates and the mean confidence run over.")
    compact_s: float = Field(600.0, gt=0, description="How often past hours of history are compacted.")

    def aggregator(self) -> AggregatorSettings:
        return AggregatorSettings(retain_s=self.retain_s, grace_s=self.grace_s, motion_gap_s=self.motion_gap_s,
                                  rate_windows=self.rate_windows)


class FeatureSinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_", env_nested_delimiter="__")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    producer: ProducerSettings = Field(default_factory=ProducerSettings)
    features: FeatureStoreSettings = Field(default_factory=FeatureStoreSettings)
    feature_sink: FeatureSinkOptions = Field(default_factory=FeatureSinkOptions)
    metrics_port: int = Field(9466, description="Prometheus port of this process (0: none).")
