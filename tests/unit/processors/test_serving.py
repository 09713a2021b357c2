"""Which model version a worker ends up serving after the model-updates topic is read: the last record for
its alias wins, whether it names a newer or an older version, and a replay never swaps to a stale one."""

from __future__ import annotations

from processors.serving import ModelHolder, ServedModel
from processors.settings import ServingModelSettings
from streams.schemas import ModelUpdate
from streams.settings import KafkaSettings

WATCHED = ("smart", "production")


def _holder(current: str, loads: list[str]) -> ModelHolder:
    def loader(_settings: ServingModelSettings, reference: str | None) -> ServedModel:
        version = current if reference is None else reference.removeprefix("models:/")
        loads.append(version)
        return ServedModel(runtime=None, version=version)  # type: ignore[arg-type]

    return ModelHolder(ServingModelSettings(), KafkaSettings(), role="test", loader=loader)


def _update(version: str, alias: str = "production") -> ModelUpdate:
    return ModelUpdate(model="smart", alias=alias, version=version, at=0.0)


def test_replaying_older_updates_before_the_current_one_never_swaps_to_an_older_version() -> None:
    holder = _holder("smart/3", loads := [])
    for version in ("1", "2", "3"):  # the compacted topic's history, read at start
        holder._consider(_update(version), WATCHED)

    assert not holder.swap_if_ready()
    assert loads[0] == "smart/3"
    assert holder.current.version == "smart/3"


def test_a_rollback_to_an_older_version_is_served() -> None:
    holder = _holder("smart/3", loads := [])
    holder._consider(_update("3"), WATCHED)
    holder._consider(_update("2"), WATCHED)

    assert holder.swap_if_ready() and holder.current.version == "smart/2"
    assert loads == ["smart/3", "smart/2"]


def test_an_update_for_another_alias_or_the_pending_version_loads_nothing_more() -> None:
    holder = _holder("smart/3", loads := [])
    holder._consider(_update("9", alias="staging"), WATCHED)
    holder._consider(_update("4"), WATCHED)
    holder._consider(_update("4"), WATCHED)

    assert loads == ["smart/3", "smart/4"]
    assert holder.swap_if_ready() and holder.current.version == "smart/4"
