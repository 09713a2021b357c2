"""A candidate model in shadow beside production: it classifies the same clips, its results go to
`shadow-outcomes` (never to actions or incidents), and the retrain worker judges it on them before the
production alias moves.

The shadow model follows its registry alias (default `shadow`) on model-updates like production does. With no
such alias, or one that names the production version, there is nothing to shadow and no extra inference runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

from models.registry import alias_version
from processors.classification import Classified, Outcome
from processors.serving import ModelHolder, ServedModel, load_model
from processors.settings import ServingModelSettings
from streams.schemas import ShadowOutcome
from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)


class ShadowModel:
    def __init__(self, settings: ServingModelSettings, kafka: KafkaSettings, alias: str, production: ModelHolder,
                 role: str) -> None:
        self.alias = alias
        self.production = production
        self.holder = ModelHolder(settings.model_copy(update={"reference": alias}), kafka, role=f"{role}-shadow",
                                  loader=self._load, warm_up=production.warm_up)

    @classmethod
    def beside(cls, production: ModelHolder, alias: str | None, role: str) -> ShadowModel | None:
        """The shadow of a production holder that follows a registry alias; None for a fixed bundle or no alias."""
        settings = production.settings
        if alias is None or Path(settings.reference).is_dir() or not settings.follow_updates:
            return None
        return cls(settings, production.kafka, alias, production, role)

    def _load(self, settings: ServingModelSettings, reference: str | None) -> ServedModel:
        if reference is None and alias_version(settings.registry, self.alias) is None:
            return self.production.current  # no candidate in shadow yet: nothing extra is loaded
        return load_model(settings, reference)

    @property
    def active(self) -> ServedModel | None:
        """The model to shadow with now, or None when it is the production model."""
        current = self.holder.current
        return None if current.version == self.production.current.version else current

    def follow(self) -> None:
        self.holder.follow()

    def swap_if_ready(self) -> None:
        if self.holder.swap_if_ready() and self.active is not None:
            logger.info("model %s runs in shadow beside %s", self.holder.current.version,
                        self.production.current.version)

    def close(self) -> None:
        self.holder.close()


def shadow_outcomes(production: list[Classified], shadow: list[Outcome]) -> list[ShadowOutcome]:
    """Shadow records of the windows both models classified (a clip the shadow rejects, e.g. for another
    feature size, has none)."""
    records = []
    for ours, theirs in zip(production, shadow, strict=True):
        if not isinstance(theirs, Classified):
            continue
        window, candidate = ours.outcome, theirs.outcome
        records.append(ShadowOutcome(
            event_id=window.event_id, site=window.site, camera=window.camera, window_start=window.window_start,
            window_end=window.window_end, model_version=candidate.model_version, label=candidate.label,
            top_k=candidate.top_k, production_version=window.model_version, production_label=window.label,
            production_top_k=window.top_k, published_at=candidate.published_at))
    return records
