"""The model a processor serves, and hot swaps: a version announced on `model-updates` is downloaded and
loaded on a background thread while the old one keeps serving; the processor switches at its next window
or batch boundary by calling `swap_if_ready()`. No restart, no window served half by one version."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from models.registry import ResolvedBundle, bundle_uri, resolve_bundle
from models.runtime import SmartRuntime, WarmUp
from processors import metrics
from processors.selector.windows import expected_candidates
from processors.settings import ProcessorSettings, ServingModelSettings
from streams.schemas import InvalidMessage, ModelUpdate, parse_event
from streams.settings import KafkaSettings
from streams.topics import Topic, topic_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModel:
    runtime: SmartRuntime
    version: str  # registry "<name>/<version>" or "local:<directory>"


def load_model(settings: ServingModelSettings, reference: str | None = None) -> ServedModel:
    if settings.torch_threads > 0:
        torch.set_num_threads(settings.torch_threads)  # process-wide: a worker serves one model at a time
    resolved: ResolvedBundle = resolve_bundle(reference or settings.reference, settings.registry,
                                              _download_dir(settings))
    runtime = SmartRuntime.from_directory(resolved.path, backend=settings.backend, precision=settings.precision,
                                          device=settings.device, num_threads=settings.num_threads,
                                          allow_spinning=settings.allow_spinning,
                                          gamma_backend=settings.gamma_backend, gamma_threads=settings.torch_threads)
    logger.info("serving model %s (%s %s on %s)", resolved.version, settings.backend, runtime.backend.precision,
                settings.device)
    return ServedModel(runtime, resolved.version)


def selector_warm_up(settings: ProcessorSettings) -> WarmUp:
    """What a selector process runs its model on: stage 1's encoder passes (full ones and a batch's odd frame),
    stage 2's windows."""
    stage1, stage2 = settings.selector_stage != "window", settings.selector_stage != "score"
    full_pass = min(settings.stage1.encoder_batch_size, settings.stage1.batch_size)
    return WarmUp(encoder_passes=(full_pass, 1) if stage1 else (),
                  window_frames=expected_candidates(settings.stage2) if stage2 else 0)


CLASSIFIER_WARM_UP = WarmUp(clips=True)


def _download_dir(settings: ServingModelSettings) -> Path:
    settings.download_dir.mkdir(parents=True, exist_ok=True)
    return Path(settings.download_dir) / f"bundle-{time.time_ns()}"


class ModelHolder:
    """Holds the served model; `follow()` starts a thread that watches model-updates for our alias. With a warm-up
    plan, every version it loads is warmed up before it serves: the first at construction (before the process
    reports itself ready), an announced one on the background thread, before the switch."""

    def __init__(self, settings: ServingModelSettings, kafka: KafkaSettings, role: str,
                 loader: Callable[[ServingModelSettings, str | None], ServedModel] = load_model,
                 warm_up: WarmUp | None = None) -> None:
        self.settings = settings
        self.kafka = kafka
        self.role = role
        self._loader = loader
        self.warm_up = warm_up
        self._current = self._load(None)
        self._pending: ServedModel | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        metrics.MODEL_VERSION.labels(role=role, version=self._current.version).set(1)
        # Exported at 0 from the start, so the alert sees the first failure as an increase.
        metrics.MODEL_LOAD_FAILURES.labels(role=role)

    @property
    def current(self) -> ServedModel:
        return self._current

    def _load(self, reference: str | None) -> ServedModel:
        served = self._loader(self.settings, reference)
        if self.warm_up is not None:
            started = time.perf_counter()
            served.runtime.warm_up(self.warm_up)
            logger.debug("%s warmed %s up in %.0f ms", self.role, served.version,
                         (time.perf_counter() - started) * 1000)
        return served

    def swap_if_ready(self) -> bool:
        """Switch to a loaded new version; call only at a boundary (between batches, before a window)."""
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is None or pending.version == self._current.version:
            return False
        metrics.MODEL_VERSION.labels(role=self.role, version=self._current.version).set(0)
        metrics.MODEL_VERSION.labels(role=self.role, version=pending.version).set(1)
        metrics.MODEL_SWAPS.labels(role=self.role).inc()
        logger.info("%s switched from %s to %s", self.role, self._current.version, pending.version)
        self._current = pending
        return True

    def follow(self) -> None:
        if self.settings.follow_updates and self._thread is None:
            self._thread = threading.Thread(target=self._watch, name=f"{self.role}-model-updates", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _watched_key(self) -> tuple[str, str] | None:
        """(model, alias) this holder follows; None when it serves a fixed directory or version."""
        uri = bundle_uri(self.settings.reference, self.settings.registry)
        if Path(self.settings.reference).is_dir() or "@" not in uri:
            return None
        name, alias = uri.removeprefix("models:/").rsplit("@", 1)
        return name, alias

    def _watch(self) -> None:
        watched = self._watched_key()
        if watched is None:
            logger.info("%s serves a fixed model; model-updates are not followed", self.role)
            return
        # No consumer group: every worker must see every update (a group would hand each to one worker).
        consumer = Consumer({**self.kafka.client_config(), "group.id": f"{self.role}-model-watch",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        topic = topic_name(Topic.MODEL_UPDATES, prefix=self.kafka.topic_prefix)
        try:
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in partitions])
            latest: ModelUpdate | None = None
            while not self._stop.is_set():
                message = consumer.poll(0.5)
                if message is None or message.error() is not None:
                    if message is not None and message.error().code() != KafkaError._PARTITION_EOF:
                        logger.warning("model-updates: %s", message.error())
                    elif latest is not None:
                        # Caught up: only the last record for the alias matters, so a replay of the topic's
                        # history at start loads no intermediate version.
                        self._consider(latest, watched)
                        latest = None
                    continue
                latest = _parse_update(message.value()) or latest
        finally:
            consumer.close()

    def _consider(self, update: ModelUpdate, watched: tuple[str, str]) -> None:
        """Make `update` the version to serve when it is for our alias. The last record per alias wins, not the
        highest version: a deliberate rollback to an older version must work."""
        if (update.model, update.alias) != watched:
            return
        version = f"{update.model}/{update.version}"
        with self._lock:
            if version == self._current.version:
                if self._pending is not None:
                    logger.info("%s keeps %s; the pending %s is dropped", self.role, version, self._pending.version)
                self._pending = None  # announced after a newer one was loaded: stay, do not swap to that one
                return
            if self._pending is not None and self._pending.version == version:
                return
        logger.info("%s loading %s in the background", self.role, version)
        try:
            loaded = self._load(f"models:/{update.model}/{update.version}")
        except Exception:  # a bad version must not take the worker down: keep serving the old one
            logger.exception("%s could not load %s; keeps serving %s", self.role, version, self._current.version)
            metrics.MODEL_LOAD_FAILURES.labels(role=self.role).inc()
            return
        with self._lock:
            self._pending = loaded


def _parse_update(value: bytes | None) -> ModelUpdate | None:
    try:
        return parse_event(ModelUpdate, value)
    except InvalidMessage as error:
        logger.warning("ignoring a model update: %s", error)
        return None


def publish_model_update(kafka: KafkaSettings, update: ModelUpdate, timeout_s: float = 30.0) -> None:
    producer = Producer({**kafka.client_config(), "enable.idempotence": True, "acks": "all"})
    producer.produce(topic_name(Topic.MODEL_UPDATES, prefix=kafka.topic_prefix), value=update.to_json_bytes(),
                     key=update.key())
    if producer.flush(timeout_s):
        raise RuntimeError(f"model update {update.model}/{update.version} was not acknowledged in {timeout_s} s")
