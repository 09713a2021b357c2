"""Feast declarations: the camera entity, the push source of per-window stats and its feature view.

`actionstream features apply` registers them (idempotent); `feast apply` in this directory reads the same
objects with the default paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Float64, Int64, PrimitiveFeastType, String

from feature_store.schema import ENTITY, FEATURES, PUSH_SOURCE, TIMESTAMP, VIEW, Kind
from feature_store.settings import REPO_DIR, FeatureStoreSettings

_FEAST_TYPES: dict[Kind, PrimitiveFeastType] = {"string": String, "float64": Float64, "int64": Int64}


@dataclass(frozen=True)
class Declarations:
    entity: Entity
    batch_source: FileSource
    push_source: PushSource
    view: FeatureView

    def objects(self) -> list[Entity | FileSource | PushSource | FeatureView]:
        return [self.entity, self.batch_source, self.push_source, self.view]


def declarations(offline_dir: Path, ttl: timedelta) -> Declarations:
    camera = Entity(name=ENTITY, join_keys=[ENTITY], value_type=ValueType.STRING,
                    description="A camera, keyed 'site/camera'.")
    # A directory of parquet parts: reads see every part; the sink appends parts (Feast's own offline push
    # would rewrite one file whole on every push).
    history = FileSource(name="camera_window_history", path=str(offline_dir), timestamp_field=TIMESTAMP)
    push = PushSource(name=PUSH_SOURCE, batch_source=history)
    view = FeatureView(
        name=VIEW, entities=[camera], ttl=ttl, source=push, online=True,
        schema=[Field(name=name, dtype=_FEAST_TYPES[kind], description=text) for name, kind, text in FEATURES],
        description="Per-camera, per-window stats of the selection windows (feature sink).",
    )
    return Declarations(camera, history, push, view)


# For `feast apply` in this directory: the default paths, anchored at the project root as in feature_store.yaml.
_DEFAULT = FeatureStoreSettings(data_dir=REPO_DIR.parent / FeatureStoreSettings().data_dir)
_declared = declarations(_DEFAULT.offline_dir, timedelta(seconds=_DEFAULT.ttl_s))
camera, camera_window_history, camera_window_push, camera_window_stats = _declared.objects()
