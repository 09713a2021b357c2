"""`bench pipeline`: the whole stream in real time. K synthetic RTSP cameras -> adapter -> selector (stage 1 in a
score process, stage 2 in a window process; or, layout `one`, both in one worker) -> classifier -> outcomes, on a
broker and an RTSP server of the bench's own (pipeline_run.py).

Per K, once the workers have loaded their model and own their partitions: processing latency (when a
read_committed subscriber sees the window's outcome - window end) p50/p99 after a warm-up, end-to-end latency,
windows lost, duplicated and shed against the windows the published frames call for, consumer-lag growth, and
CPU ms per frame per process (the harness's ffmpeg publishers and RTSP relay in rows of their own) with the
selector's split by phase, the cores they kept busy and the cameras the machine's cores could hold at that CPU per
frame (pipeline_cpu.CpuAccount.camera_ceiling); K counts only if all of these hold
(pipeline_accounting.k_failures). Separately, stage-1 efficiency: a backlog of frames drained by the selector (stage
2 running too, as in service), against the same encoder backend run standalone on the same frames, decoded
beforehand. Three ratios, each of like with like:
- CPU within the worker over the drain (the headline): the encoder phases' CPU (phase counters) against stage 1's,
  both read before and after the drain. Stage 1's CPU is the whole score process's in the split layout (it runs
  nothing else, so its Kafka clients' threads and any helper thread count too), the stage-1 thread's when it
  shares a process with stage 2 (/proc/<pid>/task/<tid>/stat). The encoder runs on that thread (one intra-op
  thread).
- CPU, standalone: the encoder alone's process CPU per image against stage 1's CPU per frame.
- Throughput: wall-clock frames/s through stage 1 (from its first batch's scoring to its last) against the encoder
  alone's images/s: what stage 1 adds per frame (decode, packing, produce and acknowledgement, waits for the
  CPU, and in layout `one` for the interpreter lock shared with stage 2) all counts against it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import yaml
from confluent_kafka import KafkaError, KafkaException, Producer

from bench.pipeline_accounting import (
    TrialResult,
    TrialWindow,
    VerdictBounds,
    WindowGrid,
    expected_windows,
    k_failures,
    lag_growth_s,
    trial_result,
)
from bench.pipeline_cpu import (
    BROKER_ROW,
    CLOCK_TICKS_PER_S,
    PUBLISHERS_ROW,
    RTSP_RELAY_ROW,
    CpuAccount,
    CpuSnapshot,
    cpu_account,
    frames_scored,
    jit_compiler_ticks,
    main_thread_ticks,
    merged_phase_seconds,
    named_thread_ticks,
    phase_seconds,
    tree_ticks,
    trees_ticks,
)
from bench.pipeline_drain import DrainPolicy, DrainWatch
from bench.pipeline_hops import StepTotals, hop_percentiles_ms, step_means_ms, step_totals
from bench.pipeline_probes import GroupLag, LagSampler, OutcomeSubscriber, is_ready, scrape
from infra.kafka.broker import KafkaBroker
from infra.process import ManagedProcess, tail
from infra.rtsp.publisher import FeedPublisher
from infra.rtsp.server import RtspServer
from processors.selector.stage1 import STAGE1_THREAD, stage1_group_id
from processors.settings import Stage1Settings, Stage2Settings
from streams.reader import TopicReader
from streams.records import ScoredFrame
from streams.schemas import FrameHeaders
from streams.settings import KafkaSettings
from streams.topics import Topic, ensure_topics, topic_name

SITE = "bench"
# Ids of the bench's own, after the trial's topic prefix: on a shared broker (the demo's) no group of another run
# is joined. Faust's group is the prefix, then the app id.
SELECTOR_APP_ID = "bench-selector"
WINDOW_PROCESS = "selector"  # stage 2's process (split layout), or the one process of both stages


def scorer_names(count: int) -> list[str]:
    """The split layout's score processes: scorer, scorer2, ..."""
    return [f"scorer{index}" if index > 1 else "scorer" for index in range(1, count + 1)]


def selector_processes(names: Iterable[str]) -> list[str]:
    """The selector's processes among the workers (score processes and the window process)."""
    return [name for name in names if name == WINDOW_PROCESS or name.startswith("scorer")]
CLASSIFIER_GROUP = "bench-classifier"


@dataclass(frozen=True)
class PipelineBenchSettings:
    cameras: list[int] = field(default_factory=lambda: [4, 8, 12])
    seconds: float = 45.0
    warmup_s: float = 10.0  # windows ending earlier are not timed (groups settling, first batches)
    close_margin_s: float = 1.0  # windows ending this close to the cameras' stop close as idle: not timed
    ready_timeout_s: float = 240.0  # longest wait for the workers' model and partitions before cameras start
    # After the cameras stop: the longest wait for the last outcomes (backlog drain, then the idle close).
    drain_bound_s: float = 240.0
    lag_sample_s: float = 2.0  # the selector reports its lag every 2 s
    sample_fps: float = 8.0
    feed_width: int = 640
    feed_height: int = 360
    feed_fps: float = 25.0
    backlog_frames: int = 1200
    bounds: VerdictBounds = field(default_factory=VerdictBounds)
    stage2: Stage2Settings = field(default_factory=Stage2Settings)  # the workers' defaults: the same windows
    model: str = "production"
    precision: str = "auto"  # encoder precision for stage 1 and the standalone run; auto: the workers' choice
    stage1_engine: str = Stage1Settings().engine  # batched or faust (processors/selector/stage1.py)
    # split: stage 1 in a `score` process, stage 2 in a `window` one (the Procfile's layout); one: a single
    # `selector run` process holds both (the Faust engine runs only so).
    selector_layout: str = "split"
    # split: score processes in the real-time trials, one consumer group (the stage-1 drain always uses one).
    scorers: int = 1
    bootstrap_servers: str = "127.0.0.1:9092"
    work_dir: Path = Path("var/bench/pipeline")

    @property
    def grid(self) -> WindowGrid:
        return WindowGrid(self.stage2.window_s, self.stage2.hop_s, self.stage2.min_frames)


@dataclass(frozen=True)
class Rate:
    """Images per second through the encoder alone, and the CPU it spent per image."""

    per_s: float
    cpu_ms_per_frame: float


@dataclass(frozen=True)
class Stage1Cpu:
    """Stage 1's CPU so far (ticks; None: not measurable), its phases' CPU seconds, frames it scored."""

    basis_ticks: int | None
    thread_ticks: int | None
    phases: dict[str, float]  # stage-1 phase -> CPU seconds
    scored: float

    @property
    def encoder_s(self) -> float:
        return self.phases.get("preprocessing", 0.0) + self.phases.get("encoder", 0.0)


@dataclass(frozen=True)
class Stage1Drain:
    """A backlog through stage 1: frames/s, and CPU ms per scored frame of stage 1 (the basis), of its thread
    alone and of its encoder phases (preprocessing and encoder: what the encoder alone runs)."""

    per_s: float
    cpu_ms_per_frame: float | None
    thread_cpu_ms_per_frame: float | None
    encoder_cpu_ms_per_frame: float | None
    phases_ms_per_frame: dict[str, float] = field(default_factory=dict)  # each stage-1 phase's CPU


@dataclass(frozen=True)
class TrialReport:
    result: TrialResult
    cpu: CpuAccount
    failures: list[str]  # why K does not count; empty: it does
    hops_ms: dict[str, dict[str, float]] = field(default_factory=dict)  # p50/p99 per hop (pipeline_hops.py)
    steps_ms: dict[str, float] = field(default_factory=dict)  # mean per window of each step inside a stage

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self.result), "counts": not self.failures, "failures": self.failures,
                "cpu": self.cpu.as_dict(), "hops_ms": self.hops_ms, "steps_ms": self.steps_ms}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def read_topic(kafka: KafkaSettings, topic: str) -> list[bytes] | None:
    """Every committed record of the topic, up to its current end; None while the broker cannot say (seen on a
    fresh broker: a partition without a leader yet)."""
    try:
        with TopicReader(kafka, topic, since=0.0) as reader:
            return [message.value() for message in reader.drain()]
    except KafkaException as error:
        if not (error.args[0].retriable() or error.args[0].code() in _NO_LEADER_YET):
            raise
        return None


_NO_LEADER_YET = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError._TIMED_OUT)


class PipelineBench:
    def __init__(self, settings: PipelineBenchSettings, bundle_dir: Path, broker: KafkaBroker) -> None:
        from models.runtime import resolve_precision

        self.settings = settings
        self.bundle_dir = bundle_dir
        self.broker = broker  # the one at settings.bootstrap_servers: its CPU is in the table
        self.settings.work_dir.mkdir(parents=True, exist_ok=True)
        # The precision the workers run (they serve the bundle with ONNX Runtime on the CPU), for the report.
        self.precision = resolve_precision(settings.precision, "onnxruntime", "cpu", bundle_dir)

    def _kafka(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.settings.bootstrap_servers,
                             topic_prefix=f"bench{uuid.uuid4().hex[:6]}.")

    def _env(self, kafka: KafkaSettings, metrics_port: int = 0) -> dict[str, str]:
        stage2 = self.settings.stage2  # the windows the bench expects are the ones the workers make
        return {"ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
                "ACTIONSTREAM_KAFKA__TOPIC_PREFIX": kafka.topic_prefix, "ACTIONSTREAM_SITES": f'["{SITE}"]',
                "ACTIONSTREAM_MODEL__REFERENCE": str(self.bundle_dir), "ACTIONSTREAM_METRICS_PORT": str(metrics_port),
                "ACTIONSTREAM_MODEL__PRECISION": self.precision,
                "ACTIONSTREAM_STAGE1__ENGINE": self.settings.stage1_engine,
                "ACTIONSTREAM_STAGE2__WINDOW_S": str(stage2.window_s), "ACTIONSTREAM_STAGE2__HOP_S": str(stage2.hop_s),
                "ACTIONSTREAM_STAGE2__MIN_FRAMES": str(stage2.min_frames),
                "ACTIONSTREAM_APP_ID": SELECTOR_APP_ID,
                "ACTIONSTREAM_CLASSIFIER__GROUP_ID": f"{kafka.topic_prefix}{CLASSIFIER_GROUP}",
                "ACTIONSTREAM_STATE_DIR": str(self.settings.work_dir / "state" / kafka.topic_prefix)}

    @property
    def split(self) -> bool:
        return self.settings.selector_layout == "split"

    @property
    def trial_scorers(self) -> int:
        """Score processes in the real-time trials (none in layout `one`: its worker scores)."""
        return self.settings.scorers if self.split else 0

    @property
    def stage1_process(self) -> str:
        """The process whose thread runs stage 1 (its CPU, its scored-frames counter)."""
        return "scorer" if self.split else "selector"

    def _start_selectors(self, kafka: KafkaSettings, ports: dict[str, int], log_prefix: str = "",
                         scorers: int = 1) -> dict[str, ManagedProcess]:
        """The selector's processes in the bench's layout, each on its own metrics port (`ports`, by name)."""
        stages = [*((name, "score") for name in scorer_names(scorers)), (WINDOW_PROCESS, "window")] if self.split \
            else [(WINDOW_PROCESS, "both")]
        return {name: self._start(f"{log_prefix}{name}", ["selector", "run", "--stage", stage],
                                  self._env(kafka, ports[name]))
                for name, stage in stages}

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> ManagedProcess:
        import sys

        # Logs and pid files of this run's own: two benches at once (helpers share a machine) shared one pid file,
        # and one's stop signalled the other's workers and left its own running.
        process = ManagedProcess(name, self.settings.work_dir / "logs" / f"run-{os.getpid()}")
        process.start([sys.executable, "-m", "actionstream", *args], env=env)
        return process

    def feeds(self, count: int) -> list[Path]:
        from training.synth import SynthSettings
        from training.synth_feed import write_camera_feed

        settings, paths = self.settings, []
        for index in range(count):
            path = settings.work_dir / "feeds" / f"cam{index}-{settings.feed_width}x{settings.feed_height}.mp4"
            if not path.exists():
                write_camera_feed(SynthSettings(), path, seconds=30.0 + index, seed=500 + index,
                                  width=settings.feed_width, height=settings.feed_height, fps=settings.feed_fps)
            paths.append(path)
        return paths

    # Stage-1 efficiency -------------------------------------------------------------------------------------

    def backlog_jpegs(self) -> list[bytes]:
        """Sampled frames of a synthetic recording, as the adapter would publish them (224 px JPEG)."""
        import av

        from streams.codec import JpegEncoder, JpegSettings

        encoder, jpegs = JpegEncoder(JpegSettings()), []
        with av.open(str(self.feeds(1)[0])) as container:
            for frame in container.decode(video=0):
                jpegs.append(encoder.encode(frame))
                if len(jpegs) == 240:
                    break
        return [jpegs[index % len(jpegs)] for index in range(self.settings.backlog_frames)]

    def standalone_img_per_s(self, jpegs: list[bytes]) -> Rate:
        """The encoder alone on the same frames, run as a worker runs it: its threads, spinning, batches and
        passes and torch threads (the workers' default settings; with torch's default threads here, its idle
        OpenMP threads spun and cost this process more CPU per image than the worker's whole stage 1 spent); images/s
        and this process's CPU per image."""
        from processors.serving import load_model
        from processors.settings import ServingModelSettings, Stage1Settings
        from streams.codec import decode_jpeg

        stage1 = Stage1Settings()
        runtime = load_model(ServingModelSettings(precision=self.precision), str(self.bundle_dir)).runtime
        size, batch = runtime.bundle.preprocessing.image_size, stage1.batch_size
        images = np.stack([decode_jpeg(jpeg, (size, size)) for jpeg in jpegs])
        runtime.encode(images[:batch], stage1.encoder_batch_size)  # warm-up
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, len(images), batch):
            runtime.encode(images[first:first + batch], stage1.encoder_batch_size)
        return Rate(len(images) / (time.perf_counter() - started), (time.process_time() - cpu) * 1000 / len(images))

    def stage1_drain(self, jpegs: list[bytes]) -> Stage1Drain:
        """One selector (in the bench's layout) draining a backlog: scored frames/s (the first batch not counted),
        and per scored frame over the drain the CPU of stage 1 (the basis: `stage1_cpu_basis`), of its thread
        alone (batched engine) and of its encoder phases (what the encoder alone runs, under the same load). The
        backlog is produced once the workers are ready, as the trials' cameras start: a worker started on it
        drained its first second beside its own start-up (Faust joining its group, stage 2's assignment)."""
        kafka = self._kafka()
        ensure_topics(kafka, [SITE])
        ports = {name: free_port() for name in ("scorer", "selector")}
        workers = self._start_selectors(kafka, ports, log_prefix="stage1-backlog-")
        worker, port = workers[self.stage1_process], ports[self.stage1_process]
        try:
            self._wait_ready(workers, ports)
            before = self._stage1_cpu(worker, port)  # from here: the drain only, not the model's loading
            self._produce_backlog(kafka, jpegs)
            after = self._await_drain(kafka, worker, port)
            # Read once, after the drain: reading the whole topic every poll competed with the worker for the CPU.
            values: list[bytes] = []
            deadline = time.monotonic() + 60  # the worker counted them published: only their commit can lag
            while len(values) < len(jpegs):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{len(values)} of {len(jpegs)} scored frames readable 60 s after the drain")
                values = read_topic(kafka, topic_name(Topic.SCORED_FRAMES, prefix=kafka.topic_prefix)) or values
        finally:
            for process in workers.values():
                process.stop()
        scored = after.scored - before.scored
        times = sorted({ScoredFrame.from_bytes(value).scored_time for value in values})
        # scored_time is per batch: count the frames after the first batch over the time they took.
        first_batch = sum(1 for value in values if ScoredFrame.from_bytes(value).scored_time == times[0])

        def ms_per_frame(ticks_after: int | None, ticks_before: int | None) -> float | None:
            if ticks_after is None or ticks_before is None or not scored:
                return None
            return (ticks_after - ticks_before) / CLOCK_TICKS_PER_S * 1000 / scored

        return Stage1Drain((len(values) - first_batch) / (times[-1] - times[0]),
                           ms_per_frame(after.basis_ticks, before.basis_ticks),
                           ms_per_frame(after.thread_ticks, before.thread_ticks),
                           (after.encoder_s - before.encoder_s) * 1000 / scored if scored else None,
                           {phase: round((seconds - before.phases.get(phase, 0.0)) * 1000 / scored, 3)
                            for phase, seconds in after.phases.items()} if scored else {})

    @property
    def stage1_cpu_basis(self) -> str:
        """Whose CPU stage 1's is: the score process's whole (split: it runs nothing else; its Kafka clients'
        threads and any helper thread count), else the stage-1 thread's (batched, beside stage 2) or the whole
        worker's (the Faust engine has no thread of its own; stage 2 included)."""
        if self.settings.stage1_engine != "batched":
            return "selector_process"
        return "scorer_process" if self.split else "stage1_thread"

    def _stage1_cpu(self, worker: ManagedProcess, metrics_port: int) -> Stage1Cpu:
        pid = worker.pid()
        if pid is None:
            raise RuntimeError(f"{worker.name} has no pid:\n{tail(worker.log_file, 30)}")
        metrics_text = scrape(metrics_port)
        thread = named_thread_ticks(pid, STAGE1_THREAD) if self.settings.stage1_engine == "batched" else None
        basis = thread if self.stage1_cpu_basis == "stage1_thread" else sum(tree_ticks(pid).values())
        phases: dict[str, float] = {}
        for (stage, phase, _), seconds in phase_seconds(metrics_text).items():
            if stage == "stage1":
                phases[phase] = phases.get(phase, 0.0) + seconds
        return Stage1Cpu(basis, thread, phases, frames_scored(metrics_text))

    def _produce_backlog(self, kafka: KafkaSettings, jpegs: list[bytes]) -> None:
        """The frames of 12 cameras at the sampling rate, all at once."""
        producer = Producer({**kafka.client_config(), "linger.ms": 20})
        frames_topic = topic_name(Topic.FRAMES, SITE, kafka.topic_prefix)
        start = time.time()
        for index, jpeg in enumerate(jpegs):
            camera = f"cam{index % 12}"
            slot = round(start * self.settings.sample_fps) + index // 12
            headers = FrameHeaders(site=SITE, camera=camera, seq=slot, capture_time=slot / self.settings.sample_fps,
                                   ingest_time=time.time(), width=224, height=224)
            producer.produce(frames_topic, value=jpeg, key=f"{SITE}/{camera}".encode(), headers=headers.to_headers())
        producer.flush(60)

    def _await_drain(self, kafka: KafkaSettings, worker: ManagedProcess, metrics_port: int) -> Stage1Cpu:
        """Until the stage-1 group has committed every frame of the backlog, read from the broker; then stage 1's
        CPU, read at most a commit interval and a poll after the drain's end. Not from the worker's own counter:
        each scrape of its /metrics cost the score process ~0.3 ms CPU per drained frame at 2 polls a second."""
        lag = self._group_lag(kafka)
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if not worker.is_running():
                    raise RuntimeError(f"selector worker exited:\n{tail(worker.log_file, 30)}")
                with contextlib.suppress(KafkaException):
                    if lag.sample()["stage1"] == 0:
                        return self._stage1_cpu(worker, metrics_port)
                time.sleep(0.5)
        finally:
            lag.close()
        raise RuntimeError(f"selector worker did not drain the backlog in 600 s:\n{tail(worker.log_file, 30)}")

    # Real-time trials ---------------------------------------------------------------------------------------

    def trial(self, cameras: int, rtsp: RtspServer) -> TrialReport:
        settings, kafka = self.settings, self._kafka()
        ensure_topics(kafka, [SITE])
        publishers = [FeedPublisher(rtsp.settings, f"{kafka.topic_prefix}cam{index}", feed)
                      for index, feed in enumerate(self.feeds(cameras))]
        scorers = self.trial_scorers
        ports = {name: free_port() for name in (*scorer_names(scorers), WINDOW_PROCESS, "classifier", "cameras")}
        workers: dict[str, ManagedProcess] = {}
        subscriber: OutcomeSubscriber | None = None
        try:
            for publisher in publishers:
                publisher.start()
            workers.update(self._start_selectors(kafka, ports, scorers=scorers))
            workers["classifier"] = self._start("classifier", ["classifier", "run"],
                                                self._env(kafka, ports["classifier"]))
            self._wait_ready(workers, ports)
            subscriber = OutcomeSubscriber(kafka, topic_name(Topic.OUTCOMES, prefix=kafka.topic_prefix))
            subscriber.start()
            config = settings.work_dir / f"cameras-{kafka.topic_prefix}yaml"
            config.write_text(yaml.safe_dump({"site": SITE, "cameras": [
                {"id": f"cam{index}", "kind": "rtsp", "url": publisher.url, "sample_fps": settings.sample_fps}
                for index, publisher in enumerate(publishers)]}))
            started = time.time()
            workers["cameras"] = self._start("cameras", ["cameras", "run", "--config", str(config)],
                                             self._env(kafka, ports["cameras"]))
            time.sleep(settings.warmup_s)
            before = self._cpu_snapshot(workers, ports, publishers, rtsp)
            steps_before = self._step_totals(workers, ports)
            sampler = LagSampler(self._group_lag(kafka), settings.lag_sample_s)
            sampler.start()
            time.sleep(max(0.0, started + settings.seconds - time.time()))
            after = self._cpu_snapshot(workers, ports, publishers, rtsp)
            steps_after = self._step_totals(workers, ports)
            lags = sampler.stop()
            workers.pop("cameras").stop()
            captures = self._captures(kafka)
            expected = expected_windows(((camera, capture) for camera, capture, _ in captures), settings.grid)
            missing_reason = self._drain(subscriber, expected, workers, self._group_lag(kafka))
            seen = subscriber.stop()
        finally:
            if subscriber is not None and subscriber.is_alive():
                subscriber.stop()
            for process in workers.values():
                process.stop()
            for publisher in publishers:
                publisher.stop()
        frames_per_s = cameras * settings.sample_fps
        inputs_per_s = {"stage1": frames_per_s, "stage2": frames_per_s, "classifier": cameras / settings.stage2.hop_s}
        growth = {stage: lag_growth_s(samples, inputs_per_s.get(stage, frames_per_s))
                  for stage, samples in lags.items()}
        span = TrialWindow(started + settings.warmup_s, after.taken_at - settings.close_margin_s)
        result = trial_result(cameras, expected, seen, settings.grid, span, growth)
        timed_frames = sum(1 for _, _, ingest in captures if before.taken_at <= ingest <= after.taken_at)
        cpu = cpu_account(before, after, cameras, timed_frames)
        return TrialReport(result, cpu, k_failures(result, settings.bounds, missing_reason),
                           hop_percentiles_ms(seen, settings.grid, span), step_means_ms(steps_before, steps_after))

    def _group_lag(self, kafka: KafkaSettings) -> GroupLag:
        prefix, selector_group = kafka.topic_prefix, f"{kafka.topic_prefix}{SELECTOR_APP_ID}"
        stage1_group = stage1_group_id(prefix, SELECTOR_APP_ID) if self.settings.stage1_engine == "batched" \
            else selector_group
        return GroupLag(kafka, {
            "stage1": (stage1_group, topic_name(Topic.FRAMES, SITE, prefix)),
            "stage2": (selector_group, topic_name(Topic.SCORED_FRAMES, prefix=prefix)),
            "classifier": (f"{prefix}{CLASSIFIER_GROUP}", topic_name(Topic.CLIPS, prefix=prefix)),
        })

    def _wait_ready(self, workers: dict[str, ManagedProcess], ports: dict[str, int]) -> None:
        """Cameras start once every worker has its model loaded and owns its partitions: no start-up backlog."""
        deadline = time.monotonic() + self.settings.ready_timeout_s
        waiting = set(workers)
        while waiting:
            for name in list(waiting):
                if not workers[name].is_running():
                    raise RuntimeError(f"{name} exited:\n{tail(workers[name].log_file, 30)}")
                if is_ready(ports[name]):
                    waiting.discard(name)
            if waiting and time.monotonic() > deadline:
                raise RuntimeError(f"{', '.join(sorted(waiting))} not ready after {self.settings.ready_timeout_s:g} s")
            time.sleep(1.0)

    def _captures(self, kafka: KafkaSettings) -> list[tuple[str, float, float]]:
        """(camera, capture time, ingest time) of every frame the adapter published."""
        with TopicReader(kafka, topic_name(Topic.FRAMES, SITE, kafka.topic_prefix), since=0.0) as reader:
            headers = [FrameHeaders.from_headers(message.headers()) for message in reader.drain()]
        return [(meta.camera, meta.capture_time, meta.ingest_time) for meta in headers]

    def _step_totals(self, workers: dict[str, ManagedProcess], ports: dict[str, int]) -> StepTotals:
        """The stage-2 and classifier steps' totals so far (pipeline_hops.py)."""
        return step_totals(scrape(ports[name]) for name in (*selector_processes(workers), "classifier"))

    def _cpu_snapshot(self, workers: dict[str, ManagedProcess], ports: dict[str, int],
                      publishers: list[FeedPublisher], rtsp: RtspServer) -> CpuSnapshot:
        selectors = selector_processes(workers)
        pids = {"adapter": workers["cameras"].pid(), **{name: workers[name].pid() for name in selectors},
                "classifier": workers["classifier"].pid(), BROKER_ROW: self.broker.status().pid,
                RTSP_RELAY_ROW: rtsp.status().pid}
        taken_at, selector_pid = time.time(), pids["selector"]
        ticks = {name: tree_ticks(pid) for name, pid in pids.items() if pid is not None}
        ticks[PUBLISHERS_ROW] = trees_ticks(pid for pid in (publisher.pid for publisher in publishers)
                                            if pid is not None)
        event_loop = main_thread_ticks(selector_pid) if selector_pid else 0
        # The phase counters lag the ticks by the scrapes' wait, at most; each phase is timed in one process.
        pages = [scrape(ports[name]) for name in selectors]
        broker_pid = pids[BROKER_ROW]
        return CpuSnapshot(taken_at, ticks, event_loop, merged_phase_seconds(pages, "cpu"),
                           merged_phase_seconds(pages, "wall"), sum(frames_scored(page) for page in pages),
                           jit_compiler_ticks(broker_pid) if broker_pid is not None else {})

    def _drain(self, subscriber: OutcomeSubscriber, expected: set[tuple[str, int]],
               workers: dict[str, ManagedProcess], lag: GroupLag) -> str:
        """Wait until every expected window has its outcome, or could have had it (pipeline_drain.py): a camera's
        last windows close as idle, `idle_close_s` after its last frame, once the backlog in front of it is
        scored. Returns why windows are still missing ("" if none is)."""
        grid = self.settings.grid
        watch = DrainWatch(DrainPolicy(self.settings.stage2.idle_close_s, bound_s=self.settings.drain_bound_s),
                           time.monotonic())
        try:
            while True:
                outcomes = list(subscriber.seen)
                seen = {grid.key(item.outcome.camera, item.outcome.window_start) for item in outcomes}
                try:
                    lags: dict[str, float] | None = lag.sample()
                except KafkaException:
                    lags = None  # not known this poll; the bound still holds
                verdict = watch.observe(time.monotonic(), len(expected - seen), len(outcomes), lags)
                if verdict.done:
                    return verdict.reason
                for process in workers.values():
                    if not process.is_running():
                        raise RuntimeError(f"{process.name} exited:\n{tail(process.log_file, 30)}")
                time.sleep(1.0)
        finally:
            lag.close()
