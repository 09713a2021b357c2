"""A candidate's shadow run, the Kafka and registry side: point the shadow alias at it (the classifiers load it
beside production), read `shadow-outcomes` and the site's labels for the set time, judge (shadow.py), and point
the alias at whichever version will serve next, so that no classifier keeps shadowing a refused model."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from pydantic import ValidationError

from models.registry import RegistrySettings, resolve_bundle_dir, set_alias
from processors.drift.calibration import Calibration
from processors.drift.references import read_reference
from processors.retrain.shadow import ShadowSettings, ShadowTally, ShadowVerdict, judge_shadow
from processors.serving import publish_model_update
from streams.reader import TopicReader
from streams.schemas import Label, ModelUpdate, RetrainRequest, ShadowOutcome
from streams.settings import KafkaSettings
from streams.topics import Topic, topic_name

logger = logging.getLogger(__name__)


class ShadowRunner:
    def __init__(self, kafka: KafkaSettings, registry: RegistrySettings, settings: ShadowSettings) -> None:
        self.kafka = kafka
        self.registry = registry
        self.settings = settings

    def __call__(self, request: RetrainRequest, candidate: str, production: str, workspace: Path) -> ShadowVerdict:
        name = self.registry.registered_model
        tally = ShadowTally(f"{name}/{candidate}", self._calibration(candidate, workspace / "candidate"),
                            self._calibration(production, workspace / "production"))
        started = time.time()
        self._point(candidate)
        logger.info("candidate %s in shadow beside %s for %.0f s", candidate, production, self.settings.duration_s)
        prefix = self.kafka.topic_prefix
        shadow_topic = topic_name(Topic.SHADOW_OUTCOMES, prefix=prefix)
        readers = [TopicReader(self.kafka, shadow_topic, started),
                   TopicReader(self.kafka, topic_name(Topic.LABELS, request.site, prefix), started)]
        deadline = time.monotonic() + self.settings.duration_s
        try:
            while time.monotonic() < deadline:
                for reader in readers:
                    message = reader.poll(self.settings.poll_s / len(readers))
                    if message is not None:
                        self._take(tally, message.value() or b"", is_shadow=reader.topic == shadow_topic)
        finally:
            for reader in readers:
                reader.close()
        verdict = judge_shadow(tally.figures(), self.settings, f"{name}/{candidate}")
        self._point(candidate if verdict.promote else production)
        logger.info("candidate %s after its shadow run: %s", candidate, "; ".join(verdict.reasons))
        return verdict

    def _take(self, tally: ShadowTally, value: bytes, *, is_shadow: bool) -> None:
        try:
            if is_shadow:
                tally.add(ShadowOutcome.model_validate_json(value))
            else:
                label = Label.model_validate_json(value)
                tally.add_label(label.event_id, label.label)
        except ValidationError as error:  # the labels sink dead-letters bad labels; here they are just skipped
            logger.debug("shadow run: skipped a malformed record: %s", error.errors()[:1])

    def _point(self, version: str) -> None:
        set_alias(self.registry, version, self.settings.alias)
        publish_model_update(self.kafka, ModelUpdate(model=self.registry.registered_model, alias=self.settings.alias,
                                                     version=version))

    def _calibration(self, version: str, download: Path) -> Calibration | None:
        directory = resolve_bundle_dir(f"models:/{self.registry.registered_model}/{version}", self.registry, download)
        profile = read_reference(directory, version).profile
        return profile.calibration if profile is not None else None
