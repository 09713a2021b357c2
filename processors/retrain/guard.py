"""The rollback guard: drift-reports and retrain-results in; after a promotion, when rollback.py says the new
model does worse live than its parent, the production alias goes back to the parent, a model-updates record
switches the workers back, and a retrain-results record (outcome rolled_back) says why, with the figures.

State (live figures per version, watched promotions) is saved before offsets are committed, so a restart
resumes the watch. A rollback is produced and acknowledged before the state without its watch is saved; a
crash between the two repeats it once, harmlessly: the alias move is idempotent, and reading our own
rolled_back record back ends the watch.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Message, Producer
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.registry import set_alias
from processors.retrain.rollback import RollbackPolicy, RollbackSettings, RollbackState, Verdict
from streams.health import HEALTH
from streams.schemas import DriftReport, ModelUpdate, RetrainResult, RetrainTimings
from streams.settings import KafkaSettings
from streams.topics import Topic, topic_name
from training.tracking import TrackingSettings

logger = logging.getLogger(__name__)

STATE_FILE = "state.json"


class GuardOptions(BaseModel):
    group_id: str = Field("actionstream-rollback", description="Consumer group (run one guard).")
    production_alias: str = Field("production", description="The alias a rollback moves back.")
    state_dir: Path = Field(Path("var/rollback"), description="Where the watch state is saved before commits.")
    poll_s: float = Field(0.5, gt=0, description="Longest wait for records (stop checks, due decisions).")
    commit_s: float = Field(5.0, gt=0, description="Save the state and commit offsets at least this often.")


class GuardSettings(BaseSettings):
    """Env names like ACTIONSTREAM_ROLLBACK__MIN_WINDOWS=10, ACTIONSTREAM_GUARD__STATE_DIR=var/rollback."""

    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_", env_nested_delimiter="__")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings, description="The model registry.")
    rollback: RollbackSettings = Field(default_factory=RollbackSettings)
    guard: GuardOptions = Field(default_factory=GuardOptions)


class RollbackGuard:
    def __init__(self, settings: GuardSettings) -> None:
        self.settings = settings
        prefix = settings.kafka.topic_prefix
        self.reports_topic = topic_name(Topic.DRIFT_REPORTS, prefix=prefix)
        self.results_topic = topic_name(Topic.RETRAIN_RESULTS, prefix=prefix)
        self.updates_topic = topic_name(Topic.MODEL_UPDATES, prefix=prefix)
        self.state_path = settings.guard.state_dir / STATE_FILE
        state = (RollbackState.model_validate_json(self.state_path.read_text()) if self.state_path.exists()
                 else RollbackState())
        self.policy = RollbackPolicy(settings.rollback, state)
        self.model = settings.tracking.registered_model
        self.rollbacks = 0

    def run(self, stop: threading.Event) -> None:
        consumer = Consumer({**self.settings.kafka.client_config(), "group.id": self.settings.guard.group_id,
                             "enable.auto.commit": False, "auto.offset.reset": "earliest",
                             "isolation.level": "read_committed"})
        producer = Producer({**self.settings.kafka.client_config(), "enable.idempotence": True, "acks": "all"})
        consumer.subscribe([self.reports_topic, self.results_topic], on_assign=HEALTH.on_assign)
        logger.info("rollback guard: %s and %s; promotions watched for %.0f s", self.reports_topic,
                    self.results_topic, self.settings.rollback.watch_s)
        last_commit = time.monotonic()
        try:
            while not stop.is_set():
                for message in consumer.consume(500, self.settings.guard.poll_s):
                    self._take(message)
                for verdict in self.policy.decide(time.time()):
                    self._act(verdict, producer)
                if time.monotonic() - last_commit >= self.settings.guard.commit_s:
                    self._commit(consumer)
                    last_commit = time.monotonic()
            self._commit(consumer)
        finally:
            producer.flush(10.0)
            consumer.close()
        logger.info("rollback guard stopped: %d rollbacks", self.rollbacks)

    def _take(self, message: Message) -> None:
        if message.error() is not None:
            logger.warning("rollback guard: %s", message.error())
            return
        try:
            if message.topic() == self.reports_topic:
                self.policy.observe(DriftReport.model_validate_json(message.value() or b""))
                return
            result = RetrainResult.model_validate_json(message.value() or b"")
        except ValidationError as error:  # the drift job's and the retrain worker's records, not outside input
            logger.warning("rollback guard: ignoring a malformed record on %s: %s", message.topic(),
                           error.errors()[:1])
            return
        if result.candidate_version is None or result.production_version is None:
            return
        promoted = f"{self.model}/{result.candidate_version}"
        expired = time.time() - result.finished_at >= self.settings.rollback.watch_s  # history at a first start
        if result.outcome == "promoted" and not expired and self.policy.promoted(
                result.request_id, result.site, promoted, f"{self.model}/{result.production_version}",
                result.finished_at):
            logger.info("watching %s (promoted over %s) for %.0f s", promoted, result.production_version,
                        self.settings.rollback.watch_s)
        elif result.outcome == "rolled_back":
            self.policy.forget(promoted)

    def _act(self, verdict: Verdict, producer: Producer) -> None:
        watch = verdict.watch
        if verdict.action == "confirm":
            logger.info("promotion of %s confirmed: %s", watch.version, "; ".join(verdict.reasons))
            return
        parent = watch.parent.removeprefix(f"{self.model}/")
        promoted = watch.version.removeprefix(f"{self.model}/")
        alias = self.settings.guard.production_alias
        set_alias(self.settings.tracking, parent, alias)
        update = ModelUpdate(model=self.model, alias=alias, version=parent)
        result = RetrainResult(request_id=watch.request_id, site=watch.site, outcome="rolled_back",
                               reasons=verdict.reasons, new_data=None, base_test=None, candidate_version=promoted,
                               production_version=parent, data=None,
                               timings=RetrainTimings(data_s=0, training_s=0, evaluation_s=0, total_s=0),
                               attempt=1, live=verdict.live)
        producer.produce(self.updates_topic, value=update.to_json_bytes(), key=update.key())
        producer.produce(self.results_topic, value=result.to_json_bytes(), key=result.key())
        if producer.flush(30.0):
            raise RuntimeError(f"rollback of {watch.version} not acknowledged by the broker")
        self.rollbacks += 1
        self._save_state()
        logger.warning("rolled back %s to %s: %s", watch.version, watch.parent, "; ".join(verdict.reasons))

    def _save_state(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state_path.with_suffix(".tmp")
        with partial.open("w") as out:
            out.write(self.policy.state.model_dump_json())
            out.flush()
            os.fsync(out.fileno())
        partial.replace(self.state_path)

    def _commit(self, consumer: Consumer) -> None:
        self._save_state()
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as error:  # nothing consumed yet, or a rebalance: the records come again
            logger.debug("rollback guard: commit skipped: %s", error)
