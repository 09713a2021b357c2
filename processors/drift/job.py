"""The drift job: scored frames, window outcomes and labels in; drift reports, retrain requests, gauges and
(off the hot path) Evidently HTML reports out. Decisions live in the pure modules (windows, detector, joins,
baselines, policy); this is the plumbing.

Each closed camera window is assessed against the model's training profile and the camera's baseline, each
site window (the site's cameras together) against the training profile. A record that does not parse, has
non-finite values, names an unknown camera or an empty window, or a label that cannot join, goes to the
dead-letter topic with its reason; the job carries on.

Offsets: the state (policy, joined labels, which windows were reported) is saved and every produced record
acknowledged before a commit, and frames and outcomes are committed only below the lowest offset an open
window still holds. A crash loses no state it covers: the open windows are read again from Kafka. It loses
the outcomes held for labels to join beyond the open windows (a label for an older window then goes to the
dead-letter topic as an unknown event id) and a site window whose cameras had not all closed.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from pydantic import BaseModel, Field, ValidationError

from models.registry import served_alias
from processors import metrics
from processors.deadletters import send_dead_letter
from processors.drift.baselines import Baselines
from processors.drift.calibration import ObservedPerformance
from processors.drift.detector import assess
from processors.drift.job_settings import DriftJobSettings
from processors.drift.joins import LabelledWindow, ObservedLabels, OutcomeIndex
from processors.drift.policy import PolicyState, RetrainPolicy
from processors.drift.profile import ReferenceProfile
from processors.drift.references import ModelCatalog
from processors.drift.report_worker import ReportWorker
from processors.drift.reports import VerdictChanges
from processors.drift.sample import WindowSample, check_frame
from processors.drift.windows import SITE_CAMERA, ClosedWindow, DriftWindows, Offset
from processors.labels import join_label
from streams.health import HEALTH
from streams.records import ScoredFrame
from streams.schemas import (
    DriftReport,
    InvalidMessage,
    ModelUpdate,
    RetrainRequest,
    RetrainResult,
    WindowOutcome,
)
from streams.topics import Topic, topic_name

logger = logging.getLogger(__name__)

STAGE = "drift"
STATE_FILE = "state.json"
_VERDICT_VALUE = {"ok": 0.0, "drift": 1.0, "insufficient": -1.0}


class JobState(BaseModel):
    """What the committed offsets no longer bring back."""

    policy: PolicyState = Field(default_factory=PolicyState)
    closed_until: dict[str, float] = Field(default_factory=dict)
    labels: dict[str, dict[str, LabelledWindow]] = Field(default_factory=dict)
    served: str | None = Field(None, description="'<model>/<version>' the served alias was last moved to.")


@dataclass
class DriftStats:
    frames: int = 0
    outcomes: int = 0
    labels: int = 0
    late: int = 0
    deadletters: int = 0
    windows: int = 0
    reports: int = 0
    requests: int = 0
    commits: int = 0


class DriftJob:
    def __init__(self, settings: DriftJobSettings, catalog: ModelCatalog) -> None:
        self.settings = settings
        self.options = settings.job
        self.catalog = catalog
        self.stats = DriftStats()
        prefix = settings.kafka.topic_prefix
        self.frames_topic = topic_name(Topic.SCORED_FRAMES, prefix=prefix)
        self.outcomes_topic = topic_name(Topic.OUTCOMES, prefix=prefix)
        self.label_topics = {topic_name(Topic.LABELS, site, prefix): site for site in settings.sites}
        self.reports_topic = topic_name(Topic.DRIFT_REPORTS, prefix=prefix)
        self.requests_topic = topic_name(Topic.RETRAIN_REQUESTS, prefix=prefix)
        self.results_topic = topic_name(Topic.RETRAIN_RESULTS, prefix=prefix)
        self.updates_topic = topic_name(Topic.MODEL_UPDATES, prefix=prefix)
        self.deadletter_topic = topic_name(Topic.DEADLETTER, prefix=prefix)
        self.state_path = self.options.state_dir / STATE_FILE
        state = JobState.model_validate_json(self.state_path.read_text()) if self.state_path.exists() else JobState()
        self.windows = DriftWindows(settings.drift.window_s, self.options.lateness_s, self.options.idle_close_s)
        self.windows.restore(state.closed_until)
        self.policy = RetrainPolicy(settings.policy, state.policy)
        self.labels = ObservedLabels(self.options.observed_labels, state.labels)
        self.outcomes = OutcomeIndex(self.options.held_outcomes)
        self.baselines = Baselines(settings.drift, self.options.baseline_windows, self.options.baseline_outcomes,
                                   self.options.state_dir / "baselines")
        self.verdicts = VerdictChanges()
        self._watched = served_alias(settings.model.reference, settings.model.registry)  # (model, alias) or None
        self._served = state.served  # None: the configured reference as resolved at start
        self._versions: dict[str, str] = {}  # site/camera -> model version of its latest outcome
        self._next: dict[Offset, int] = {}  # next offset to read per partition

    def run(self, stop: threading.Event) -> DriftStats:
        consumer = Consumer({
            **self.settings.kafka.client_config(),
            "group.id": self.options.group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",  # outcomes are written in the classifier's transactions
        })
        producer = Producer({**self.settings.kafka.client_config(), **self.settings.producer.client_config()})
        html = ReportWorker(self.settings.reports, self.settings.drift, self.options.report_queue)
        consumer.subscribe([self.frames_topic, self.outcomes_topic, *self.label_topics, self.results_topic,
                            self.updates_topic],
                           on_assign=HEALTH.on_assign,
                           on_revoke=lambda member, _partitions: self._revoked(member, producer))
        logger.info("drift job: %s, %s and %s -> %s (windows of %g s, closed %g s after their end)", self.frames_topic,
                    self.outcomes_topic, ", ".join(self.label_topics), self.reports_topic,
                    self.settings.drift.window_s, self.options.lateness_s)
        self.catalog.reference(None)  # the configured model's profile, or the one line saying it has none
        last_commit = time.monotonic()
        try:
            while not stop.is_set():
                for message in consumer.consume(self.options.poll_records, self.options.poll_s):
                    self._take(message, producer)
                for window in self.windows.due(time.monotonic()):
                    self._assess(window, producer, html)
                if time.monotonic() - last_commit >= self.options.commit_s:
                    self._commit(consumer, producer)
                    last_commit = time.monotonic()
            self._commit(consumer, producer)
        finally:
            html.close()
            producer.flush(10.0)
            consumer.close()
        logger.info("drift job stopped: %s", self.stats)
        return self.stats

    # -- intake ---------------------------------------------------------------------------------------------

    def _take(self, message: Message, producer: Producer) -> None:
        if message.error() is not None:
            logger.warning("drift job: %s", message.error())
            return
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic is None or partition is None or offset is None:  # only error events lack coordinates
            return
        metrics.RECORDS_IN.labels(stage=STAGE).inc()
        at = (topic, partition)
        try:
            if topic == self.frames_topic:
                self._take_frame(message, at, offset)
            elif topic == self.outcomes_topic:
                self._take_outcome(message.value(), at, offset)
            elif topic == self.results_topic:
                self._take_result(message.value())
            elif topic == self.updates_topic:
                self._take_update(message.value())
            else:
                self._take_label(message.value(), self.label_topics[topic])
        except InvalidMessage as error:
            self._dead_letter(message, producer, str(error))
        except ValidationError as error:
            first = error.errors()[0]
            self._dead_letter(message, producer, f"invalid {'outcome' if topic == self.outcomes_topic else 'record'}"
                              f": {'.'.join(str(part) for part in first['loc'])}: {first['msg']}")
        except Exception as error:  # the job never dies on a record; the reason names what broke
            logger.exception("drift job: unexpected error on %s[%d]@%d", topic, partition, offset)
            self._dead_letter(message, producer, f"unexpected error: {error!r}")
        self._next[at] = offset + 1

    def _known(self, site: str, camera: str) -> None:
        if site not in self.settings.sites:
            raise InvalidMessage(f"unknown camera {site}/{camera}: site {site!r} is not among the sites checked "
                                 f"({', '.join(self.settings.sites)})")

    def _take_frame(self, message: Message, at: Offset, offset: int) -> None:
        frame = ScoredFrame.from_bytes(message.value())
        self._known(frame.site, frame.camera)
        check_frame(frame, self.settings.drift.quality_columns)
        profile = self.catalog.reference(self._versions.get(f"{frame.site}/{frame.camera}", self._served)).profile
        if len(frame.features) == 0 or (profile is not None and len(frame.features) != profile.embeddings.shape[1]):
            expected = f", the training profile has {profile.embeddings.shape[1]}" if profile is not None else ""
            raise InvalidMessage(f"scored frame {frame.camera}/{frame.seq}: X_i of {len(frame.features)} values"
                                 f"{expected}")
        self.stats.frames += 1
        if not self.windows.add_frame(frame, at, offset, time.monotonic()):
            self._late()

    def _take_outcome(self, value: bytes | None, at: Offset, offset: int) -> None:
        outcome = WindowOutcome.model_validate_json(value or b"")
        self._known(outcome.site, outcome.camera)
        if not outcome.top_k:
            raise InvalidMessage(f"empty window {outcome.event_id}: no top-k scores")
        if outcome.window_end <= outcome.window_start:
            raise InvalidMessage(f"empty window {outcome.event_id}: ends at {outcome.window_end} before its start "
                                 f"{outcome.window_start}")
        key = f"{outcome.site}/{outcome.camera}"
        previous = self._versions.get(key)
        if previous is not None and previous != outcome.model_version:
            logger.info("camera %s: model %s -> %s; a new baseline is captured", key, previous, outcome.model_version)
        self._versions[key] = outcome.model_version
        self.outcomes.add(outcome)
        self.stats.outcomes += 1
        if not self.windows.add_outcome(outcome, at, offset, time.monotonic()):
            self._late()

    def _take_label(self, value: bytes | None, site: str) -> None:
        joined = join_label(value, self.outcomes, self.catalog.reference(self._served).classes)
        if joined.outcome.site != site:
            raise InvalidMessage(f"label on the topic of site {site} for a window of site {joined.outcome.site}")
        self.labels.add(joined)
        self.stats.labels += 1
        metrics.DRIFT_LABELS.inc()

    def _take_result(self, value: bytes | None) -> None:
        """A finished retrain request: its cause may request again after the cool-down (else after the expiry)."""
        try:
            result = RetrainResult.model_validate_json(value or b"")
        except ValidationError as error:  # the retrain worker's record, not our input: no dead letter
            logger.warning("drift job: ignoring a malformed retrain result: %s", error.errors()[:1])
            return
        if any(opened.request_id == result.request_id for opened in self.policy.state.open.values()):
            logger.info("retrain request %s closed: %s", result.request_id, result.outcome)
            self.policy.close(result.request_id)

    def _take_update(self, value: bytes | None) -> None:
        """The served alias moved (a promotion or a rollback): the cameras' baselines and the persistence of the
        old model's windows say nothing about the new one, so baselines are captured again and the policy's
        window history starts afresh; the new model's training profile is loaded now."""
        try:
            update = ModelUpdate.model_validate_json(value or b"")
        except ValidationError as error:  # the retrain worker's record, not our input: no dead letter
            logger.warning("drift job: ignoring a malformed model update: %s", error.errors()[:1])
            return
        version = f"{update.model}/{update.version}"
        if self._watched != (update.model, update.alias) or version == self._served:
            return
        logger.info("model %s now serves as @%s: camera baselines are captured again, policy windows restart",
                    version, update.alias)
        self._served = version
        self.baselines.reset()
        self.policy.restart_windows()
        self.catalog.reference(version)

    def _late(self) -> None:
        self.stats.late += 1
        metrics.DRIFT_LATE_RECORDS.inc()

    # -- windows --------------------------------------------------------------------------------------------

    def _assess(self, window: ClosedWindow, producer: Producer, html: ReportWorker) -> None:
        key = f"{window.site}/{window.camera}"
        try:
            sample = WindowSample.from_records(window.frames, window.outcomes, self.settings.drift.quality_columns)
            model = self.catalog.reference(window.model_version or self._versions.get(key))
            profiles: list[ReferenceProfile] = [model.profile] if model.profile is not None else []
            if window.camera != SITE_CAMERA:
                baseline = self.baselines.get(window.site, window.camera, model.version)
                if baseline is not None:
                    profiles.append(baseline)
                else:
                    self.baselines.offer(window.site, window.camera, model.version, window.start, window.end, sample,
                                         model.profile.calibration if model.profile is not None else None,
                                         window.model_versions)
            for profile in profiles:
                self._report(window, sample, profile, model.version, producer, html)
        except Exception:  # one window that cannot be assessed must not stop the others
            logger.exception("drift window %s from %.0f could not be assessed", key, window.start)
        self.stats.windows += 1

    def _report(self, window: ClosedWindow, sample: WindowSample, profile: ReferenceProfile, model_version: str,
                producer: Producer, html: ReportWorker) -> None:
        drift = assess(profile, sample, self.settings.drift)
        observed, reference_observed = self._observed(window, profile, model_version)
        report = drift.report(site=window.site, camera=window.camera, window_start=window.start,
                              window_end=window.end, profile=profile, model_version=model_version, observed=observed,
                              reference_observed=reference_observed, published_at=time.time())
        decision = self.policy.observe(report, window.end)
        if decision.assessed:
            # The policy's verdict travels in the report: the alert gauge and every reader (the demo) see one rule.
            report = report.model_copy(update={"alert_causes": decision.persisting})
            metrics.DRIFT_ALERT.labels(site=window.site, camera=window.camera).set(1 if report.alert_causes else 0)
        self._produce(producer, self.reports_topic, report)
        self.stats.reports += 1
        self._gauges(report)
        name = f"{window.site}/{window.camera}/{profile.kind}"
        if self.verdicts.changed(name, drift.verdict):
            logger.info("%s vs %s: verdict %s (%s)", name, profile.name, drift.verdict,
                        ", ".join(drift.causes) or "no drift")
            if sample.frames:  # Evidently cannot profile empty columns; the event above says it all
                html.submit(profile, sample, f"{name}/{window.start:.0f}")
        for request in decision.requests:
            self._produce(producer, self.requests_topic, request)
            self.stats.requests += 1
            metrics.RETRAIN_REQUESTS.labels(cause=request.cause).inc()
            logger.info("retrain request %s: %s", request.request_id, request.reason)

    def _observed(self, window: ClosedWindow, profile: ReferenceProfile, model_version: str
                  ) -> tuple[ObservedPerformance | None, ObservedPerformance | None]:
        """The window's observed performance and the reference's, measured alike (labels on both sides):
        against a camera baseline, the labelled windows after the baseline's and those within it; against the
        training profile, every labelled window and the validation set the calibration was fitted on."""
        if window.camera == SITE_CAMERA:
            return None, None
        if profile.kind == "training":
            calibration = profile.calibration
            reference = (ObservedPerformance(calibration.samples, calibration.accuracy, math.nan)
                         if calibration is not None else None)
            return self.labels.performance(window.site, window.camera, model_version), reference
        span = self.baselines.span(window.site, window.camera, model_version)
        if span is None:  # a baseline saved before spans were: its labelled windows are unknown
            return self.labels.performance(window.site, window.camera, model_version), None
        return (self.labels.performance(window.site, window.camera, model_version, since=span.end),
                self.labels.performance(window.site, window.camera, model_version, since=span.start,
                                        until=span.end))

    def _gauges(self, report: DriftReport) -> None:
        site, camera, kind = report.site, report.camera, report.reference_kind
        metrics.DRIFT_WINDOWS.labels(reference_kind=kind, verdict=report.verdict).inc()
        metrics.DRIFT_VERDICT.labels(site=site, camera=camera, reference_kind=kind).set(_VERDICT_VALUE[report.verdict])
        metrics.DRIFT_SCORE.labels(site=site, camera=camera, reference_kind=kind, kind="share_drifted").set(
            report.share_drifted)
        if report.embedding_mmd2 is not None:
            metrics.DRIFT_SCORE.labels(site=site, camera=camera, reference_kind=kind, kind="embedding_mmd2").set(
                report.embedding_mmd2)
        figures = {"estimated": report.estimated_accuracy, "reference": report.reference_accuracy}
        if kind == "training":  # every labelled window of the camera; the baseline's report splits them in two
            figures.update(observed=report.observed_accuracy, observed_macro_f1=report.observed_macro_f1)
        for figure, value in figures.items():
            if value is not None:
                metrics.DRIFT_ACCURACY.labels(site=site, camera=camera, kind=figure).set(value)

    # -- output and offsets ---------------------------------------------------------------------------------

    def _produce(self, producer: Producer, topic: str, event: DriftReport | RetrainRequest) -> None:
        producer.produce(topic, value=event.to_json_bytes(), key=event.key(), on_delivery=_log_failure)
        producer.poll(0)
        metrics.RECORDS_OUT.labels(stage=STAGE).inc()

    def _dead_letter(self, message: Message, producer: Producer, reason: str) -> None:
        send_dead_letter(producer, self.deadletter_topic, STAGE, message, reason, on_delivery=_log_failure)
        self.stats.deadletters += 1

    def _save_state(self) -> None:
        state = JobState(policy=self.policy.state, closed_until=self.windows.closed_until(),
                         labels=self.labels.state(), served=self._served)
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state_path.with_suffix(".tmp")
        with partial.open("w") as out:
            out.write(state.model_dump_json())
            out.flush()
            os.fsync(out.fileno())
        partial.replace(self.state_path)

    def _commit(self, consumer: Consumer, producer: Producer) -> bool:
        """Save the state and wait for every produced record, then commit below what open windows hold."""
        if not self._next:
            return False
        self._save_state()
        if remaining := producer.flush(10.0):
            logger.warning("drift job: %d records unacknowledged; offsets not committed", remaining)
            return False
        held = self.windows.held()
        offsets = [TopicPartition(topic, partition, min(position, held.get((topic, partition), position)))
                   for (topic, partition), position in self._next.items()]
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:  # e.g. a rebalance took the partitions: their records come again
            logger.warning("drift job: commit failed: %s", error)
            return False
        self.stats.commits += 1
        return True

    def _revoked(self, consumer: Consumer, producer: Producer) -> None:
        # Open windows are dropped and read again from the committed offsets by whoever gets the partitions.
        self._commit(consumer, producer)
        self._next.clear()
        self.windows.restore(self.windows.closed_until())


def _log_failure(error: object, _message: object) -> None:
    if error is not None:
        logger.warning("drift job: a record was not delivered: %s", error)
