"""Which model version a worker ends up serving after the model-updates topic is read: the last record for
its alias wins, whether it names a newer or an older version, and a replay never swaps to a stale one."""

from __future__ import annotations

from models.runtime import WarmUp
from processors.serving import ModelHolder, ServedModel, selector_warm_up
from processors.settings import ProcessorSettings, ServingModelSettings, Stage1Settings
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


class _RecordingRuntime:
    def __init__(self, version: str, events: list[str]) -> None:
        self.version, self.events = version, events

    def warm_up(self, plan: WarmUp) -> None:
        self.events.append(f"warm {self.version} {plan.window_frames}")


def test_every_version_is_warmed_up_before_it_serves() -> None:
    events: list[str] = []

    def loader(_settings: ServingModelSettings, reference: str | None) -> ServedModel:
        version = "smart/3" if reference is None else reference.removeprefix("models:/")
        events.append(f"load {version}")
        return ServedModel(runtime=_RecordingRuntime(version, events), version=version)  # type: ignore[arg-type]

    holder = ModelHolder(ServingModelSettings(), KafkaSettings(), role="test", loader=loader,
                         warm_up=WarmUp(window_frames=32))
    assert events == ["load smart/3", "warm smart/3 32"]
    holder._consider(_update("4"), WATCHED)
    assert events[2:] == ["load smart/4", "warm smart/4 32"]  # on the loading thread, before the switch
    assert holder.current.version == "smart/3" and holder.swap_if_ready() and holder.current.version == "smart/4"


def test_a_selector_process_warms_up_the_stages_it_runs() -> None:
    stage1 = Stage1Settings(batch_size=32, encoder_batch_size=2)

    def plan(stage: str) -> WarmUp:
        return selector_warm_up(ProcessorSettings(selector_stage=stage, stage1=stage1))

    assert plan("score") == WarmUp(encoder_passes=(2, 1))
    assert plan("window") == WarmUp(window_frames=32)  # 4 s windows at 8 fps
    assert plan("both") == WarmUp(encoder_passes=(2, 1), window_frames=32)
