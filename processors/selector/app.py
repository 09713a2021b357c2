"""The Faust app "selector": stage 1 (score every frame) and stage 2 (window selection) as agents.

The agents are plumbing: decisions live in scoring.py, windows.py and selection.py. Workers with the same app
id share the partitions; window state lives in two changelog-backed tables (per-camera window state, and the
scored frames of open windows), so a worker that takes over a partition resumes its windows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import faust
from confluent_kafka import KafkaError, KafkaException
from faust.types import EventT

from processors import metrics
from processors.selector.scoring import FrameRecord, decode_records, score_frames
from processors.selector.selection import build_clip
from processors.selector.windows import CameraWindows, expected_candidates
from processors.serving import ModelHolder
from processors.settings import ProcessorSettings
from streams.deadletter import DeadLetter
from streams.records import FrameRef, ScoredFrame
from streams.schemas import InvalidMessage
from streams.settings import KafkaSettings
from streams.topics import Topic, spec_for, topic_name

logger = logging.getLogger(__name__)


def faust_broker_options(kafka: KafkaSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "broker": ";".join(f"kafka://{server.strip()}" for server in kafka.bootstrap_servers.split(",")),
    }
    if kafka.security_protocol != "PLAINTEXT":
        import ssl

        context = ssl.create_default_context(cafile=kafka.ssl_ca_location) if "SSL" in kafka.security_protocol else None
        if kafka.sasl_mechanism:
            options["broker_credentials"] = faust.SASLCredentials(
                username=kafka.sasl_username, password=kafka.sasl_password.get_secret_value() if kafka.sasl_password
                else None, mechanism=kafka.sasl_mechanism, ssl_context=context,
            )
        elif context is not None:
            options["broker_credentials"] = faust.SSLCredentials(context)
    return options


class SelectorApp:
    """Builds the Faust app for one worker process around the model it serves."""

    def __init__(self, settings: ProcessorSettings, holder: ModelHolder) -> None:
        self.settings = settings
        self.holder = holder
        prefix = settings.kafka.topic_prefix
        partitions = spec_for(Topic.SCORED_FRAMES).partitions
        settings.state_dir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
        self.app = faust.App(
            f"{prefix}{settings.app_id}",
            **faust_broker_options(settings.kafka),
            store="memory://",
            datadir=str(settings.state_dir),
            topic_partitions=partitions,
            topic_replication_factor=1,
            web_enabled=False,
            processing_guarantee="at_least_once",
            consumer_auto_offset_reset="earliest",
            # A killed worker's partitions move to the others after this long without heartbeats.
            broker_session_timeout=10.0,
            broker_heartbeat_interval=2.0,
            broker_commit_interval=1.0,
            stream_buffer_maxsize=settings.stage1.buffer_records,
            producer_max_request_size=spec_for(Topic.CLIPS).max_message_bytes,
            producer_acks=-1,
            # Measured: with standby replicas, a worker that took over a killed worker's partitions sometimes
            # lost the open windows it held as standby; rebuilding from the changelog on takeover did not.
            table_standby_replicas=0,
        )
        raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
        frames_topics = [topic_name(Topic.FRAMES, site, prefix) for site in settings.sites]
        self.frames = self.app.topic(*frames_topics, **raw)
        self.scored = self.app.topic(topic_name(Topic.SCORED_FRAMES, prefix=prefix), **raw)
        self.clips = self.app.topic(topic_name(Topic.CLIPS, prefix=prefix), **raw)
        self.deadletter = self.app.topic(topic_name(Topic.DEADLETTER, prefix=prefix), **raw)
        self.windows = self.app.Table("windows", key_type=str, value_type=bytes, partitions=partitions)
        self.window_frames = self.app.Table("window-frames", key_type=str, value_type=bytes, partitions=partitions)
        # Model work leaves the event loop, so consumption and heartbeats go on while a batch computes.
        self._stage1_pool = ThreadPoolExecutor(1, thread_name_prefix="stage1")
        self._stage2_pool = ThreadPoolExecutor(1, thread_name_prefix="stage2")
        self.app.agent(self.frames, name="stage1-score")(self._score)
        self.app.agent(self.scored, name="stage2-select")(self._select)
        self.app.timer(2.0)(self._report_assignment)

    async def _report_assignment(self) -> None:
        """Partitions (cameras) this worker owns and how far behind it is on them, per stage: the split
        between workers and the backlog in Kafka (the queue in front of each stage) are visible."""
        counts: dict[str, int] = {}
        lag = {"stage1": 0, "stage2": 0}
        stage_of = {**dict.fromkeys(self.frames.topics, "stage1"), **dict.fromkeys(self.scored.topics, "stage2")}
        for partition in self.app.consumer.assignment():
            counts[partition.topic] = counts.get(partition.topic, 0) + 1
            if partition.topic in stage_of:
                position = await self.app.consumer.position(partition)
                highwater = self.app.consumer.highwater(partition)
                if position is not None and highwater is not None:
                    lag[stage_of[partition.topic]] += max(0, highwater - position)
        for topic in stage_of:
            metrics.ASSIGNED_PARTITIONS.labels(topic=topic).set(counts.get(topic, 0))
        for stage, records in lag.items():
            metrics.CONSUMER_LAG.labels(stage=stage).set(records)

    def ensure_changelog_topics(self, timeout_s: float = 30.0) -> None:
        """Create the tables' changelog topics before the worker starts: a topic Faust creates itself can show
        0 partitions in the consumer's first metadata snapshot, and the table then refuses every write."""
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient(self.settings.kafka.client_config())
        existing = admin.list_topics(timeout=timeout_s).topics
        partitions = spec_for(Topic.SCORED_FRAMES).partitions
        max_bytes = spec_for(Topic.SCORED_FRAMES).max_message_bytes
        config = {"cleanup.policy": "compact", "max.message.bytes": str(max_bytes)}
        missing = [NewTopic(table.changelog_topic.get_topic_name(), num_partitions=partitions, replication_factor=-1,
                            config=config)
                   for table in (self.windows, self.window_frames)
                   if table.changelog_topic.get_topic_name() not in existing]
        for name, future in (admin.create_topics(missing, request_timeout=timeout_s).items() if missing else []):
            try:
                future.result()
            except KafkaException as error:
                if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # another worker was faster
                    raise
            logger.info("created changelog topic %s", name)

    async def _dead_letter(self, event: EventT, stage: str, reason: str) -> None:
        message = event.message
        letter = DeadLetter.of(stage=stage, reason=reason, topic=message.topic, partition=message.partition,
                               offset=message.offset, value=message.value, key=message.key,
                               headers=list(message.headers or []))
        await self.deadletter.send(key=letter.key, value=letter.value, headers=letter.headers)
        metrics.DEADLETTERS.labels(stage=stage, reason=reason.split(":")[0][:60]).inc()
        logger.warning("%s: dead letter %s[%d]@%d: %s", stage, message.topic, message.partition, message.offset,
                       reason)

    async def _score(self, stream: faust.StreamT) -> None:
        loop = asyncio.get_running_loop()
        batch_size = self.settings.stage1.batch_size
        async for events in stream.take_events(batch_size, within=self.settings.stage1.batch_wait_s):
            self.holder.swap_if_ready()
            model = self.holder.current
            records = [
                FrameRecord(event.message.value, list(event.message.headers or []),
                            FrameRef(event.message.topic, event.message.partition, event.message.offset))
                for event in events
            ]
            metrics.RECORDS_IN.labels(stage="stage1").inc(len(records))
            metrics.BATCH_SIZE.labels(stage="stage1").observe(len(records))
            metrics.BATCH_FILL.labels(stage="stage1").observe(len(records) / batch_size)
            started = time.perf_counter()
            image_size = model.runtime.bundle.preprocessing.image_size
            decoded, refused = await loop.run_in_executor(self._stage1_pool, decode_records, records, image_size,
                                                          self.settings.stage1)
            scored = await loop.run_in_executor(self._stage1_pool, score_frames, model.runtime, model.version,
                                                decoded)
            metrics.BATCH_SECONDS.labels(stage="stage1").observe(time.perf_counter() - started)
            by_record = {id(record): event for record, event in zip(records, events, strict=True)}
            for refusal in refused:
                await self._dead_letter(by_record[id(refusal.record)], "stage1", refusal.reason)
            for frame in scored:
                await self.scored.send(key=frame.key(), value=frame.to_bytes())
                metrics.HOP_SECONDS.labels(hop="score").observe(frame.scored_time - frame.ingest_time)
            metrics.RECORDS_OUT.labels(stage="stage1").inc(len(scored))

    async def _select(self, stream: faust.StreamT) -> None:
        loop = asyncio.get_running_loop()
        settings = self.settings.stage2
        async for event in stream.events():
            metrics.RECORDS_IN.labels(stage="stage2").inc()
            try:
                frame = ScoredFrame.from_bytes(event.message.value)
            except InvalidMessage as error:
                await self._dead_letter(event, "stage2", str(error))
                continue
            camera = f"{frame.site}/{frame.camera}"
            state = CameraWindows.from_bytes(self.windows.get(camera))
            if state.next_start is None:
                logger.info("stage2: first frame of %s (seq %d) on partition %d", camera, frame.seq,
                            event.message.partition)
            admission = state.add(frame.seq, frame.capture_time, settings)
            if admission.accepted:
                self.window_frames[f"{camera}#{frame.seq}"] = event.message.value
            elif admission.reason == "late":
                metrics.LATE_FRAMES.inc()
            else:
                metrics.DUPLICATES.labels(stage="stage2").inc()
            closed, evicted = state.close_ready(settings)
            if closed:
                logger.debug("stage2: %s closes windows %s", camera, [window.start for window in closed])
            for window in closed:
                self.holder.swap_if_ready()  # a new version starts with a whole window
                frames = [ScoredFrame.from_bytes(self.window_frames[f"{camera}#{seq}"]) for seq in window.seqs]
                if len(frames) < settings.min_frames:
                    metrics.WINDOWS.labels(outcome="too_few_frames").inc()
                    continue
                model = self.holder.current
                budget = settings.budget or model.runtime.bundle.manifest.num_frames
                clip = await loop.run_in_executor(
                    self._stage2_pool,
                    partial(build_clip, model.runtime, model.version, window, frames, budget,
                            expected_candidates(settings), self.settings.shedding),
                )
                # Wait for the broker's ack before the window state moves on: a worker killed in between then
                # replays the window (same clip id, dropped downstream) instead of losing it.
                delivery = await self.clips.send(key=clip.key(), value=clip.to_bytes())
                await delivery
                metrics.WINDOWS.labels(outcome="incomplete" if clip.incomplete else "complete").inc()
                metrics.HOP_SECONDS.labels(hop="select").observe(clip.closed_time - clip.window_end)
                metrics.FRAMES_PER_WINDOW.labels(stage="stage2").observe(len(clip.frames))
                if clip.shed:
                    metrics.SHED_WINDOWS.labels(stage="stage2").inc()
                metrics.RECORDS_OUT.labels(stage="stage2").inc()
            for seq in evicted:
                self.window_frames.pop(f"{camera}#{seq}", None)
            self.windows[camera] = state.to_bytes()
            metrics.OPEN_WINDOWS.set(len(self.window_frames))
