import re
from pathlib import Path

import pytest
import yaml

from training.config import (
    DEFAULT_CONFIG_PATH,
    ConfigError,
    TrainConfig,
    apply_override,
    load_config,
    save_resolved,
)


def _write(path: Path, values: dict) -> Path:
    path.write_text(yaml.safe_dump(values))
    return path


def test_default_file_states_the_field_defaults() -> None:
    assert DEFAULT_CONFIG_PATH.is_file()
    assert load_config([], []) == TrainConfig()


def test_precedence_cli_over_files_over_defaults(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.yaml", {"optimizer": {"lr": 0.01, "name": "sgd"}, "seed": 3})
    second = _write(tmp_path / "b.yaml", {"optimizer": {"lr": 0.02}})

    config = load_config([first, second], ["optimizer.lr=0.5", "loss.name=focal"])

    assert config.optimizer.lr == 0.5  # CLI beats both files
    assert config.optimizer.name == "sgd"  # first file, not overridden later
    assert config.seed == 3
    assert config.loss.name == "focal"
    assert config.optimizer.weight_decay == TrainConfig().optimizer.weight_decay  # default kept


def test_later_file_wins_and_nested_sections_merge(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.yaml", {"augment": {"brightness": 0.1, "hue": 0.02}})
    second = _write(tmp_path / "b.yaml", {"augment": {"brightness": 0.2}})

    config = load_config([first, second], [])

    assert config.augment.brightness == 0.2
    assert config.augment.hue == 0.02


def test_override_values_are_parsed_as_yaml() -> None:
    config = load_config([], ["data.root=null", "augment.crop_scale=[0.5, 0.9]", "curation.enabled=false"])

    assert config.data.root is None
    assert config.augment.crop_scale == (0.5, 0.9)
    assert config.curation.enabled is False


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optimizer.name=rmsprop", "optimizer.name"),
        ("optimizer.learning_rate=0.1", "learning_rate"),  # unknown key
        ("data.split=4", "data.split"),
        ("scheduler.warmup_epochs=-1", "warmup_epochs"),
        ("augment.crop_scale=[0.9, 0.5]", "crop_scale"),
    ],
)
def test_invalid_values_raise_config_error_naming_the_field(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config([], [override])


@pytest.mark.parametrize("override", ["optimizer.lr", "=3", "a..b=1"])
def test_malformed_overrides_raise(override: str) -> None:
    with pytest.raises(ConfigError, match=re.escape("section.key=value")):
        load_config([], [override])


def test_override_below_a_scalar_raises() -> None:
    with pytest.raises(ConfigError, match="seed is not a section"):
        apply_override({"seed": 1}, "seed.value=2")


def test_file_that_is_not_a_mapping_raises(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")

    with pytest.raises(ConfigError, match="mapping"):
        load_config([path], [])


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config([tmp_path / "absent.yaml"], [])


def test_saved_resolved_config_loads_back_identically(tmp_path: Path) -> None:
    config = load_config([], ["optimizer.lr=0.3", "data.root=/data/ucf", "tracking.experiment=x"])

    saved = save_resolved(config, tmp_path / "run" / "config.yaml")

    assert load_config([saved], []) == config
