"""The Faust app "selector": stage 1 (score every frame) and stage 2 (window selection) as agents; with
`selector_stage: window` stage 2 only (stage 1 in `score` processes, processors/selector/scorer.py).

The agents are plumbing: decisions live in scoring.py, windows.py and selection.py. Workers with the same app
id share the partitions; window state lives in one changelog-backed table (per-camera window state, the scored
frames of open windows, and the last scored-frames offset applied per partition), so a worker that takes over a
partition resumes its windows and the stream exactly where the restored state ends.

Why stage 2 owns its input offsets: Faust commits offsets every second from acks, after a producer flush that
gives up after 0.1 s with table writes still queued (faust/transport/producer.py `flush_atmost`), and it can
commit across offsets it never delivered (a gap interval includes the record that opened it; records re-read
after a seek are dropped below the read offset). A committed offset may therefore run ahead of the state a
replacement worker restores. Every table write of one input record goes to that record's changelog partition,
in order, the offset last; so the restored offset is never ahead of the restored state, and stage 2 seeks back
to it whenever Faust delivers a record past it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import faust
from aiokafka.errors import IllegalStateError
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import KafkaError, KafkaException
from faust.types import TP, EventT

from processors import metrics
from processors.selector.claims import ClaimedFrame
from processors.selector.consumer import GaplessConsumer
from processors.selector.discovery import FramesTopicDiscovery
from processors.selector.jpeg_fetch import JpegFetcher
from processors.selector.offsets import Verdict, verdict
from processors.selector.phases import Phase, timed
from processors.selector.scoring import FrameRecord, decode_records, score_frames
from processors.selector.selection import build_clip
from processors.selector.stage1 import BatchedStage1
from processors.selector.stage1_backlog import Stage1Backlog
from processors.selector.windows import CameraWindows, ClosedWindow, expected_candidates
from processors.serving import ModelHolder
from processors.settings import ProcessorSettings
from streams.broker_monitor import MONITOR
from streams.deadletter import DeadLetter
from streams.health import HEALTH
from streams.records import FrameRef, ScoredFrame
from streams.schemas import InvalidMessage
from streams.settings import KafkaSettings
from streams.topics import Topic, await_partitions, spec_for, topic_name

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
        # Faust's own consumer can commit past records it fetched across a seek and never delivered (consumer.py).
        self.app.transport.Consumer = GaplessConsumer
        raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
        frames_topics = [topic_name(Topic.FRAMES, site, prefix) for site in settings.sites]
        self.frames = self.app.topic(*frames_topics, **raw)
        self.scored = self.app.topic(topic_name(Topic.SCORED_FRAMES, prefix=prefix), **raw)
        self.clips = self.app.topic(topic_name(Topic.CLIPS, prefix=prefix), **raw)
        self.deadletter = self.app.topic(topic_name(Topic.DEADLETTER, prefix=prefix), **raw)
        # Cameras closed for idleness are nudged through this topic, on the camera's scored-frames partition,
        # so the agent that owns the state makes the change (a timer cannot write a partitioned table).
        self.ticks = self.app.topic(f"{prefix}{settings.app_id}-stage2-ticks", **raw)
        # One table for all of stage 2's state: one changelog partition keeps its writes in order.
        # Per camera: its window document (windows.py), written when windows close or frames are evicted, not per
        # frame; and per frame of an open window its claim (claims.py), the JPEG left in scored-frames.
        self.windows = self.app.Table("stage2-state", key_type=str, value_type=bytes, partitions=partitions)
        # The table's state as objects, for the partitions owned since the last rebalance (parsing per frame cost).
        self._cameras: dict[str, CameraWindows] = {}
        self._claims: dict[str, ClaimedFrame] = {}
        self._fetcher = JpegFetcher(settings.kafka, settings.stage2)  # used on the stage-2 thread only
        self._rewinding: set[int] = set()  # scored-frames partitions sought back to their applied offset
        self._open_frames = 0  # frames of open windows this worker added (a gauge, not state)
        self._behind = False  # consumer lag on the Faust stages at the last report: idle closes wait
        # Model work leaves the event loop, so consumption and heartbeats go on while a batch computes.
        self._stage1_pool = ThreadPoolExecutor(1, thread_name_prefix="stage1")
        self._stage2_pool = ThreadPoolExecutor(1, thread_name_prefix="stage2")
        # Stage 1 here (stage `both`) as a Faust agent, or (batched) a confluent-kafka loop the worker runs on a
        # thread, `stage1`; or (stage `window`) in `score` processes of its own, whose backlog is read from the broker.
        with_stage1 = settings.selector_stage == "both"
        self.stage1 = BatchedStage1(settings, holder, partial(self._assigned, "stage1")) \
            if with_stage1 and settings.stage1.engine == "batched" else None
        self.stage1_backlog = None if with_stage1 else Stage1Backlog(settings)
        self._faust_stage1 = with_stage1 and self.stage1 is None
        self._stages_assigned = {"stage2": False, **({"stage1": False} if self.stage1 is not None else {})}
        if self._faust_stage1:
            self.app.agent(self.frames, name="stage1-score")(self._score)
        self.app.agent(self.app.topic(*self.scored.topics, *self.ticks.topics, **raw), name="stage2-select")(
            self._select)
        self.app.timer(2.0)(self._report_assignment)
        if settings.frames_discovery_s and self._faust_stage1:
            self.app.timer(settings.frames_discovery_s)(
                FramesTopicDiscovery(self.app, self.frames, settings.kafka, settings.frames_discovery_s))
        self.app.timer(settings.stage2.idle_check_s)(self._tick_idle_cameras)
        self.app.on_partitions_revoked.connect(self._forget_rewinds)
        self.app.on_rebalance_complete.connect(self._owns_partitions)

    async def _owns_partitions(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        if not self._stages_assigned["stage2"]:  # once, before the worker first reports ready
            scored_topic = self.scored.get_topic_name()
            owned = [(tp.topic, tp.partition) for tp in self.app.consumer.assignment() if tp.topic == scored_topic]
            await asyncio.get_running_loop().run_in_executor(self._stage2_pool, self._fetcher.warm_up, owned)
        self._assigned("stage2")  # assignment received and its window tables restored

    def _assigned(self, stage: str) -> None:
        """Ready once each stage's group assigned it its partitions (called from the batched stage 1's thread too)."""
        self._stages_assigned[stage] = True
        if all(self._stages_assigned.values()):
            HEALTH.passed("partitions")

    async def _report_assignment(self) -> None:
        """Partitions (cameras) this worker owns and how far behind it is on them, per stage: the split
        between workers and the backlog in Kafka (the queue in front of each stage) are visible. The batched stage
        1 reports its own."""
        counts: dict[str, int] = {}
        faust_topics = {"stage1": self.frames.topics if self._faust_stage1 else (), "stage2": self.scored.topics}
        stage_of = {topic: stage for stage, topics in faust_topics.items() for topic in topics}
        lag = dict.fromkeys(set(stage_of.values()), 0)
        for partition in self.app.consumer.assignment():
            counts[partition.topic] = counts.get(partition.topic, 0) + 1
            if partition.topic in stage_of:
                # A rebalance can revoke the partition meanwhile: reading it then crashed the worker (kill soak).
                try:
                    position = await self.app.consumer.position(partition)
                except IllegalStateError:
                    continue
                if partition not in self.app.consumer.assignment():
                    continue
                highwater = self.app.consumer.highwater(partition)
                if position is not None and highwater is not None:
                    lag[stage_of[partition.topic]] += max(0, highwater - position)
        for topic in stage_of:
            metrics.ASSIGNED_PARTITIONS.labels(topic=topic).set(counts.get(topic, 0))
        for stage, records in lag.items():
            metrics.CONSUMER_LAG.labels(stage=stage).set(records)
        self._behind = any(lag.values())

    def ensure_changelog_topics(self, timeout_s: float = 30.0) -> None:
        """Create the table's changelog topic and the ticks topic before the worker starts, and wait until the
        cluster shows all their partitions: a topic that shows 0 partitions in the consumer's first metadata
        snapshot (Faust's own creation, or ours a moment before) makes the table refuse every write
        (PartitionsMismatch)."""
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient(self.settings.kafka.client_config())
        existing = admin.list_topics(timeout=timeout_s).topics
        partitions = spec_for(Topic.SCORED_FRAMES).partitions
        max_bytes = spec_for(Topic.SCORED_FRAMES).max_message_bytes
        config = {"cleanup.policy": "compact", "max.message.bytes": str(max_bytes)}
        wanted = {self.windows.changelog_topic.get_topic_name(): config,
                  self.ticks.get_topic_name(): {"retention.ms": str(spec_for(Topic.SCORED_FRAMES).retention_ms)}}
        missing = [NewTopic(name, num_partitions=partitions, replication_factor=-1, config=topic_config)
                   for name, topic_config in wanted.items() if name not in existing]
        for name, future in (admin.create_topics(missing, request_timeout=timeout_s).items() if missing else []):
            try:
                future.result()
            except KafkaException as error:
                if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # another worker was faster
                    raise
            logger.info("created changelog topic %s", name)
        await_partitions(admin, dict.fromkeys(wanted, partitions), timeout_s)

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
                                                decoded, self.settings.stage1.encoder_batch_size)
            metrics.BATCH_SECONDS.labels(stage="stage1").observe(time.perf_counter() - started)
            by_record = {id(record): event for record, event in zip(records, events, strict=True)}
            for refusal in refused:
                await self._dead_letter(by_record[id(refusal.record)], "stage1", refusal.reason)
            with timed(Phase.PACK):
                payloads = [(frame.key(), frame.to_bytes()) for frame in scored]
            # Timed across the sends: a send suspends the agent only when the producer's buffer is full.
            with timed(Phase.PRODUCE):
                for key, value in payloads:
                    await self.scored.send(key=key, value=value)
            for frame in scored:
                metrics.HOP_SECONDS.labels(hop="score").observe(frame.scored_time - frame.ingest_time)
            metrics.RECORDS_OUT.labels(stage="stage1").inc(len(scored))

    async def _select(self, stream: faust.StreamT) -> None:
        scored_topic = self.scored.get_topic_name()
        async for event in stream.events():
            message = event.message
            if message.topic != scored_topic:
                await self._apply(event, message.key.decode(), None)
                continue
            if not await self._in_order(message.tp, message.offset):
                continue
            metrics.RECORDS_IN.labels(stage="stage2").inc()
            try:
                frame = ScoredFrame.from_bytes(message.value)
            except InvalidMessage as error:
                await self._dead_letter(event, "stage2", str(error))
            else:
                await self._apply(event, f"{frame.site}/{frame.camera}", frame)
            # Written after the state it covers, to the same changelog partition (the record's).
            with timed(Phase.CHANGELOG):
                self.windows[_offset_key(message.partition)] = str(message.offset).encode()

    async def _in_order(self, tp: TP, offset: int) -> bool:
        """Whether the record is the next one after the last applied: earlier ones are replays (dropped); a
        later one means Faust skipped records, and the partition is sought back to the first one missing."""
        stored = self.windows.get(_offset_key(tp.partition))
        applied = None if stored is None else int(stored)
        decision = verdict(applied, offset)
        if decision is Verdict.APPLY:
            self._rewinding.discard(tp.partition)
            return True
        if decision is Verdict.REPLAY:
            metrics.DUPLICATES.labels(stage="stage2").inc()
            return False
        if tp.partition in self._rewinding or applied is None:
            return False  # records fetched before the seek
        resume = applied + 1
        earliest = (await self.app.consumer.earliest_offsets(tp))[tp]
        if resume < earliest:
            logger.warning("stage2: %s[%d] records %d..%d expired before they were applied", tp.topic, tp.partition,
                           resume, earliest - 1)
            return True
        logger.warning("stage2: %s[%d] delivered offset %d after applied %d: seeking back to %d", tp.topic,
                       tp.partition, offset, resume - 1, resume)
        self._rewinding.add(tp.partition)
        await self.app.consumer.seek(tp, resume)
        return False

    async def _forget_rewinds(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        self._rewinding.clear()  # the rebalance seeks every partition to its committed offset
        # Another worker may own and change these cameras next: read them from the table again.
        self._cameras.clear()
        self._claims.clear()

    def _camera_state(self, camera: str) -> tuple[CameraWindows, list[int]]:
        """The camera's windows, and claims to delete: its document as last written, plus the frames whose claims
        were written after it (the document is not rewritten per frame). Claims older than every open window
        (their deletion did not reach the changelog) are returned for deletion."""
        cached = self._cameras.get(camera)
        if cached is not None:
            return cached, []
        state = CameraWindows.from_bytes(self.windows.get(camera))
        prefix = f"{camera}#"
        later = [ClaimedFrame.from_bytes(value).frame for key, value in list(self.windows.items())
                 if key.startswith(prefix) and int(key[len(prefix):]) not in state.frames]
        return state, state.restore([(frame.seq, frame.capture_time, frame.scored_time) for frame in later],
                                    self.settings.stage2)

    async def _apply(self, event: EventT, camera: str, frame: ScoredFrame | None) -> None:
        """One frame (or, with none, an idle tick) into its camera's windows; clips for the windows it closes."""
        settings = self.settings.stage2
        with timed(Phase.STATE):
            state, evicted = self._camera_state(camera)
            self._cameras[camera] = state  # cached here, in the agent: a timer may run before the table is restored
            changed = bool(evicted) or state.next_start is None  # a new camera's document makes it known
        if frame is None:
            with timed(Phase.STATE):
                closed, idle_evicted = state.close_idle(time.time(), settings)
            if closed:
                logger.info("stage2: %s idle, closing windows %s", camera, [window.start for window in closed])
        else:
            if state.next_start is None:
                logger.info("stage2: first frame of %s (seq %d) on partition %d", camera, frame.seq,
                            event.message.partition)
            with timed(Phase.STATE):
                admission = state.add(frame.seq, frame.capture_time, settings, arrival=time.time())
            if admission.accepted:
                message = event.message
                with timed(Phase.CHANGELOG):
                    claimed = ClaimedFrame.of(frame, FrameRef(message.topic, message.partition, message.offset))
                    key = _frame_key(camera, frame.seq)
                    self.windows[key] = claimed.to_bytes()
                    self._claims[key] = claimed
                self._open_frames += 1
            elif admission.reason == "late":
                metrics.LATE_FRAMES.inc()
            else:
                metrics.DUPLICATES.labels(stage="stage2").inc()
            with timed(Phase.STATE):
                closed, idle_evicted = state.close_ready(settings)
        closed_at = time.time()
        for window in closed:
            await self._emit(camera, window, closed_at)
        evicted += idle_evicted
        if changed or closed or evicted:
            with timed(Phase.CHANGELOG):
                self.windows[camera] = state.to_bytes()  # before the claims it no longer needs go
                for seq in evicted:
                    key = _frame_key(camera, seq)
                    self.windows.pop(key, None)
                    self._claims.pop(key, None)
        self._open_frames = max(0, self._open_frames - len(evicted))
        metrics.OPEN_WINDOWS.set(self._open_frames)

    def _claimed(self, camera: str, seq: int) -> ClaimedFrame:
        key = _frame_key(camera, seq)
        claimed = self._claims.get(key)
        return claimed if claimed is not None else ClaimedFrame.from_bytes(self.windows[key])

    async def _emit(self, camera: str, window: ClosedWindow, closed_at: float) -> None:
        settings = self.settings.stage2
        metrics.STEP_SECONDS.labels(stage="stage2", step="close").observe(closed_at - window.end)
        self.holder.swap_if_ready()  # a new version starts with a whole window
        with timed(Phase.SELECT):
            claimed = [self._claimed(camera, seq) for seq in window.seqs]
        if len(claimed) < settings.min_frames:
            metrics.WINDOWS.labels(outcome="too_few_frames").inc()
            return
        model = self.holder.current
        budget = settings.budget or model.runtime.bundle.manifest.num_frames
        clip, expired = await asyncio.get_running_loop().run_in_executor(
            self._stage2_pool,
            partial(build_clip, model.runtime, model.version, window, claimed, budget, expected_candidates(settings),
                    self.settings.shedding, self._fetcher.fetch),
        )
        if expired:
            await self._expired(camera, window, expired, clip is not None)
        if clip is None:
            return
        # Wait for the broker's ack before the window state moves on: a worker killed in between then replays
        # the window (same clip id, dropped downstream) instead of losing it.
        with timed(Phase.SELECT):
            value = clip.to_bytes()
        sent_at = time.perf_counter()
        delivery = await self.clips.send(key=clip.key(), value=value)
        await delivery
        acknowledged = time.perf_counter() - sent_at
        metrics.STEP_SECONDS.labels(stage="stage2", step="clip_ack").observe(acknowledged)
        logger.debug("stage2: %s window ending %.3f: closed %.0f ms after its end, clip out %.0f ms after the close "
                     "(acknowledged in %.0f ms)", camera, window.end, (closed_at - window.end) * 1000,
                     (time.time() - closed_at) * 1000, acknowledged * 1000)
        metrics.WINDOWS.labels(outcome="incomplete" if clip.incomplete else "complete").inc()
        metrics.HOP_SECONDS.labels(hop="select").observe(clip.closed_time - clip.window_end)
        metrics.FRAMES_PER_WINDOW.labels(stage="stage2").observe(len(clip.frames))
        if clip.shed:
            metrics.SHED_WINDOWS.labels(stage="stage2").inc()
        metrics.RECORDS_OUT.labels(stage="stage2").inc()

    async def _expired(self, camera: str, window: ClosedWindow, expired: list[FrameRef], emitted: bool) -> None:
        """Selected frames whose JPEG left scored-frames before the window closed (the stage was behind by the
        topic's retention): the clip goes out without them, marked incomplete; with none left, the window is a
        dead letter that names it."""
        first = expired[0]
        reason = (f"expired: {len(expired)} selected frame(s) of {camera} window [{window.start:.3f}, "
                  f"{window.end:.3f}) no longer in {first.topic}[{first.partition}] (retention)")
        if emitted:
            logger.warning("stage2: %s; the clip goes out without them, incomplete", reason)
            return
        metrics.WINDOWS.labels(outcome="expired").inc()
        letter = DeadLetter.of(stage="stage2", reason=reason, topic=first.topic, partition=first.partition,
                               offset=first.offset, value=None, key=camera.encode())
        await self.deadletter.send(key=letter.key, value=letter.value, headers=letter.headers)
        metrics.DEADLETTERS.labels(stage="stage2", reason="expired").inc()
        logger.warning("stage2: dead letter: %s", reason)

    async def _tick_idle_cameras(self) -> None:
        """Ask stage 2 to close the windows of cameras that stopped, on partitions this worker owns. The timer
        only sends a tick on the camera's partition: table writes are partitioned by the record being
        processed, and going through the agent orders the close with the camera's frames."""
        # Read live (the lag timer may stall): this process's stage 1, or the score processes' backlog.
        stage1_behind = (self.stage1 is not None and self.stage1.behind) or \
            (self.stage1_backlog is not None and self.stage1_backlog.behind)
        if self._behind or stage1_behind or not MONITOR.reachable or MONITOR.settling():
            # A camera's frames may be queued in front of stage 1 or 2 (seen after a broker outage: windows closed
            # as idle while their frames were still on the way, then lost as late): no camera is idle while so.
            return
        now = time.time()
        scored_topic = self.scored.get_topic_name()
        owned = {tp.partition for tp in self.app.consumer.assignment() if tp.topic == scored_topic}
        partitions = list(range(spec_for(Topic.SCORED_FRAMES).partitions))
        for key in [key for key in list(self.windows.keys()) if _is_camera_key(key)]:
            # The partition stage 1's producer picks for the camera's key (aiokafka's default partitioner), from
            # the key alone: no producer metadata needed on a worker that has not produced to scored-frames.
            partition = DefaultPartitioner()(key.encode(), partitions, partitions)
            if partition in owned and self._camera_state(key)[0].is_idle(now, self.settings.stage2):
                await self.ticks.send(key=key.encode(), value=b"", partition=partition)


def _frame_key(camera: str, seq: int) -> str:
    return f"{camera}#{seq}"


def _offset_key(partition: int) -> str:
    return f"@offset/{partition}"


def _is_camera_key(key: str) -> bool:
    return not key.startswith("@") and "#" not in key
