"""Training configuration: one validated pydantic model, loaded in layers.

Precedence (highest first): CLI overrides ``a.b=c`` > config files in the order given (later wins) >
``training/configs/default.yaml`` > the field defaults below. The resolved config is saved with the run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from training.augment import AugmentSettings
from training.curation import CurationSettings
from training.losses import LossSettings
from training.metrics import PrimaryMetric, choose_primary_metric
from training.optim import OptimizerSettings, SchedulerSettings
from training.smart_settings import ClassifierSettings, FeatureSettings, SelectorSettings
from training.synth import SynthSettings
from training.tracking import TrackingSettings

logger = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path(__file__).parent / "configs" / "default.yaml"


class ConfigError(ValueError):
    """A config file or override that cannot be read or does not validate."""


class DataSettings(BaseModel):
    """Which videos to train on."""

    model_config = ConfigDict(extra="forbid")

    root: Path | None = Field(None, description="UCF101-layout folder; None = the synthetic set below")
    split: Literal[1, 2, 3] = Field(1, description="official UCF101 split number")
    synthetic_dir: Path = Field(Path("var/data/synthetic"), description="where the synthetic set is written")
    synthetic: SynthSettings = Field(default_factory=SynthSettings, description="synthetic set to generate")


class EvaluationSettings(BaseModel):
    """How models are compared (early stopping and model selection use the primary metric)."""

    model_config = ConfigDict(extra="forbid")

    primary_metric: Literal["auto", "accuracy", "macro_f1"] = Field(
        "auto", description="auto: accuracy when classes are balanced, macro-F1 otherwise"
    )
    imbalance_ratio: float = Field(1.5, ge=1.0, description="largest/smallest class count above = imbalanced")
    floor_burst_candidates: int = Field(
        2, ge=1, description="Burst candidates a validation window needs for its action event to count as true "
        "when the open-set floor is chosen (2: 0.25 s at 8 candidates a second, the demo's event overlap)")
    floor_orders: int = Field(
        5, ge=1, description="Random orders of the validation clips laid back to back when the open-set floor is "
        "chosen; each floor's scores are averaged over them (one order of 18 clips decided by one false event)")

    def resolve_primary_metric(self, class_counts: Sequence[int]) -> PrimaryMetric:
        """The configured metric, or the class-balance rule when ``auto``."""
        if self.primary_metric == "auto":
            return choose_primary_metric(class_counts, self.imbalance_ratio)
        return self.primary_metric


class TrainConfig(BaseModel):
    """Everything a training run needs; every section rejects unknown keys."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, description="seed for every random draw of the run")
    data: DataSettings = Field(default_factory=DataSettings)
    curation: CurationSettings = Field(default_factory=CurationSettings)
    augment: AugmentSettings = Field(default_factory=AugmentSettings)
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    classifier: ClassifierSettings = Field(default_factory=ClassifierSettings)
    selectors: SelectorSettings = Field(default_factory=SelectorSettings)
    optimizer: OptimizerSettings = Field(default_factory=OptimizerSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    loss: LossSettings = Field(default_factory=LossSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)


def load_config(files: Sequence[Path] = (), overrides: Sequence[str] = ()) -> TrainConfig:
    """Defaults file, then ``files`` in order, then ``overrides`` ("a.b=c", value parsed as YAML)."""
    merged = read_yaml_mapping(DEFAULT_CONFIG_PATH)
    for path in files:
        merged = deep_merge(merged, read_yaml_mapping(Path(path)))
    for override in overrides:
        apply_override(merged, override)
    try:
        config = TrainConfig.model_validate(merged)
    except ValidationError as error:
        sources = ", ".join(str(path) for path in files) or "no files"
        message = f"invalid training config (defaults, {sources}, overrides {list(overrides)}):\n{error}"
        raise ConfigError(message) from error
    logger.debug("resolved training config from %s and %d overrides", list(files), len(overrides))
    return config


def save_resolved(config: TrainConfig, path: Path) -> Path:
    """Write the fully resolved config as YAML (loadable again with ``load_config([path], [])``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    return path


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """A YAML file whose top level is a mapping (an empty file is an empty mapping)."""
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read config {path}: {error}") from error
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config {path} must hold a mapping at the top level, got {type(loaded).__name__}")
    return loaded


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` over ``base``: nested mappings merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply_override(values: dict[str, Any], override: str) -> None:
    """Set ``a.b.c`` in ``values`` from "a.b.c=value" (value parsed as YAML: numbers, bools, lists, null)."""
    key_path, separator, raw_value = override.partition("=")
    keys = key_path.strip().split(".")
    if not separator or not all(keys):
        raise ConfigError(f"override {override!r} must look like 'section.key=value'")
    try:
        value = yaml.safe_load(raw_value)
    except yaml.YAMLError as error:
        raise ConfigError(f"override {override!r}: value is not valid YAML: {error}") from error
    node = values
    for depth, key in enumerate(keys[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {override!r}: {'.'.join(keys[: depth + 1])} is not a section")
        node = child
    node[keys[-1]] = value
