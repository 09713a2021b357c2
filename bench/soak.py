"""The selector's kill scenario: two workers share the cameras, frames flow in real time, one worker is
SIGKILLed at a set point of the stream and frames keep flowing through the group's rebalance. Every window the
frames close must come out, whole. The integration test runs it once; `actionstream bench soak` repeats it with
the kill at different points (`soak_scenarios`)."""

from __future__ import annotations

import logging
import socket
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from confluent_kafka import Producer

from infra.process import ManagedProcess, tail
from streams.reader import TopicReader
from streams.records import Clip, ScoredFrame, clip_id
from streams.settings import KafkaSettings
from streams.synthetic_frames import FrameStream, expected_windows
from streams.topics import Topic, ensure_topics, topic_name

logger = logging.getLogger(__name__)

StartWorker = Callable[[str, list[str]], ManagedProcess]  # (name, extra `selector run` args) -> started worker


@dataclass(frozen=True)
class KillScenario:
    cameras: int = 8
    fps: float = 8.0
    window_s: float = 4.0  # the workers' Stage2Settings
    hop_s: float = 2.0
    kill_at_s: float = 8.0  # stream seconds published (in real time) before the burst and the kill
    burst_s: float = 4.0  # stream seconds published at once before the kill: the worker dies mid-backlog
    kill_delay_s: float = 0.5  # wall seconds between the burst and the kill
    after_kill_s: float = 16.0  # stream seconds published after the kill: past the session timeout and rebalance
    join_timeout_s: float = 90.0
    clips_timeout_s: float = 120.0


@dataclass
class KillRun:
    windows_expected: int
    lost: list[tuple[str, float]] = field(default_factory=list)  # (camera, window start) never emitted
    incomplete_by_kill: list[tuple[str, float, int]] = field(default_factory=list)  # (camera, start, candidates)
    unexpected: list[tuple[str, float]] = field(default_factory=list)
    duplicates: int = 0  # clip records beyond one per window (replays; dropped downstream by id)
    unscored: int = 0  # frames published that never reached scored-frames (lost by stage 1)
    victim_selected: bool = False  # the killed worker had stage-2 work when it died
    logs: str = ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def worker_metric(port: int, name: str) -> float:
    """A worker's own metric (summed over label sets matching `name`), from its Prometheus endpoint."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return 0.0  # not serving yet
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def run_kill_scenario(kafka: KafkaSettings, site: str, start_worker: StartWorker,
                      scenario: KillScenario = KillScenario()) -> KillRun:
    frames_topic = topic_name(Topic.FRAMES, site, kafka.topic_prefix)
    ports = [free_port(), free_port()]
    workers = [start_worker(f"selector-{index}", ["--faust-log-level", "INFO", "--metrics-port", str(port)])
               for index, port in enumerate(ports)]
    assigned = 'actionstream_assigned_partitions{topic="' + frames_topic + '"}'
    deadline = time.monotonic() + scenario.join_timeout_s
    while not all(worker_metric(port, assigned) > 0 for port in ports):
        if time.monotonic() > deadline:
            raise RuntimeError("the two workers did not share the frames partitions:\n"
                               + "\n".join(tail(worker.log_file, 30) for worker in workers))
        time.sleep(1.0)  # both in the group before any frame arrives, so the cameras are split between them

    producer = Producer({**kafka.client_config(), "linger.ms": 5})
    cameras = [f"cam-{index}" for index in range(scenario.cameras)]
    stream = FrameStream(producer, frames_topic, site, cameras, time.time(), scenario.fps)
    for _ in stream.run(scenario.kill_at_s):
        pass
    stream.burst(scenario.burst_s)
    time.sleep(scenario.kill_delay_s)
    victim_selected = worker_metric(ports[0], 'actionstream_records_in_total{stage="stage2"}') > 0
    workers[0].kill()  # SIGKILL: no goodbye to the group, its windows only in the changelog
    logger.info("killed %s at stream second %.2f", workers[0].name, scenario.kill_at_s + scenario.burst_s)
    for _ in stream.run(scenario.after_kill_s):
        pass

    wanted = {clip_id(site, camera, start): (camera, start) for camera, seqs in stream.seqs.items()
              for start in expected_windows(seqs, scenario.fps, scenario.window_s, scenario.hop_s)}
    clips = _wait_for_clips(kafka, set(wanted), scenario.clips_timeout_s)
    seen = {clip.clip_id: clip for clip in clips}
    first_capture = stream.first_slot / scenario.fps
    slots = round(scenario.window_s * scenario.fps)
    return KillRun(
        windows_expected=len(wanted),
        lost=sorted(wanted[key] for key in set(wanted) - set(seen)),
        # The camera's first windows start before its first frame: incomplete by design, not by the kill.
        incomplete_by_kill=sorted((clip.camera, clip.window_start, clip.candidates) for clip in seen.values()
                                  if clip.clip_id in wanted and clip.window_start >= first_capture
                                  and (clip.incomplete or clip.candidates != slots)),
        unexpected=sorted((clip.camera, clip.window_start) for clip in seen.values() if clip.clip_id not in wanted),
        duplicates=len(clips) - len(seen),
        unscored=_unscored(kafka, {(camera, seq) for camera, seqs in stream.seqs.items() for seq in seqs},
                           scenario.clips_timeout_s),
        victim_selected=victim_selected,
        logs="\n".join(tail(worker.log_file, 40) for worker in workers),
    )


def _unscored(kafka: KafkaSettings, published: set[tuple[str, int]], timeout_s: float) -> int:
    """Frames (camera, seq) published that stage 1 has not scored once it caught up (or once `timeout_s`
    passed): the stream's last frames may still be in flight when its last window closed."""
    topic = topic_name(Topic.SCORED_FRAMES, prefix=kafka.topic_prefix)
    deadline = time.monotonic() + timeout_s
    while True:
        with TopicReader(kafka, topic, since=0.0) as reader:
            scored = {(frame.camera, frame.seq)
                      for frame in (ScoredFrame.from_bytes(message.value()) for message in reader.drain(timeout_s))}
            read_all = reader.at_end
        missing = published - scored
        if read_all and (not missing or time.monotonic() > deadline):
            return len(missing)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{topic} not read to its end in {timeout_s} s")
        time.sleep(2.0)


def _wait_for_clips(kafka: KafkaSettings, wanted: set[str], timeout_s: float) -> list[Clip]:
    """Every clip record once all `wanted` ids are there (or once `timeout_s` passed)."""
    topic = topic_name(Topic.CLIPS, prefix=kafka.topic_prefix)
    deadline = time.monotonic() + timeout_s
    while True:
        with TopicReader(kafka, topic, since=0.0) as reader:
            clips = [Clip.from_bytes(message.value()) for message in reader.drain(timeout_s)]
            read_all = reader.at_end
        if read_all and (wanted <= {clip.clip_id for clip in clips} or time.monotonic() > deadline):
            return clips
        if time.monotonic() > deadline:
            raise RuntimeError(f"clips not read to the end of the topic in {timeout_s} s")
        time.sleep(2.0)


def soak_scenarios(runs: int, base: KillScenario = KillScenario()) -> list[KillScenario]:
    """Kill points spread over the stream: after 6 to 12 s of real-time frames, every other one right after
    a burst (the victim dies mid-backlog), the others in steady flow."""
    return [replace(base, kill_at_s=6.0 + 1.5 * (run % 5), burst_s=base.burst_s if run % 2 == 0 else 0.0)
            for run in range(runs)]


FIGURES = ("windows_expected", "windows_lost", "windows_incomplete_by_kill", "windows_unexpected", "duplicates",
           "frames_unscored")


def run_soak(bootstrap_servers: str, bundle_dir: Path, runs: int, work_dir: Path,
             site: str = "soak") -> Iterator[dict[str, object]]:
    """`runs` kill scenarios, each on its own topics and consumer group: one line of figures per run, then
    their sums."""
    sums = dict.fromkeys(FIGURES, 0)
    for index, scenario in enumerate(soak_scenarios(runs)):
        kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=f"soak{uuid.uuid4().hex[:8]}.")
        run_dir = work_dir / kafka.topic_prefix.rstrip(".")
        run = _soak_run(kafka, bundle_dir, scenario, run_dir, site)
        counts = {"windows_expected": run.windows_expected, "windows_lost": len(run.lost),
                  "windows_incomplete_by_kill": len(run.incomplete_by_kill), "windows_unexpected": len(run.unexpected),
                  "duplicates": run.duplicates, "frames_unscored": run.unscored}
        sums = {name: sums[name] + counts[name] for name in FIGURES}
        yield {"run": index, "kill_at_s": scenario.kill_at_s, "burst_s": scenario.burst_s, **counts,
               "victim_selected": run.victim_selected, "logs": str(run_dir)}
    yield {"soak": "selector-kill", "runs": runs, **sums}


def _soak_run(kafka: KafkaSettings, bundle_dir: Path, scenario: KillScenario, run_dir: Path, site: str) -> KillRun:
    ensure_topics(kafka, [site])
    env = {"ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
           "ACTIONSTREAM_KAFKA__TOPIC_PREFIX": kafka.topic_prefix, "ACTIONSTREAM_SITES": f'["{site}"]',
           "ACTIONSTREAM_MODEL__REFERENCE": str(bundle_dir), "ACTIONSTREAM_METRICS_PORT": "0",
           "ACTIONSTREAM_STAGE2__WINDOW_S": str(scenario.window_s), "ACTIONSTREAM_STAGE2__HOP_S": str(scenario.hop_s),
           "ACTIONSTREAM_STAGE2__SAMPLE_FPS": str(scenario.fps),
           "ACTIONSTREAM_STAGE2__IDLE_CLOSE_S": "600",  # the stream's tail windows stay open
           "OMP_NUM_THREADS": "1"}
    started: list[ManagedProcess] = []

    def start_worker(name: str, args: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, run_dir)
        process.start([sys.executable, "-m", "actionstream", "selector", "run", *args],
                      env={**env, "ACTIONSTREAM_STATE_DIR": str(run_dir / name)})
        started.append(process)
        return process

    try:
        return run_kill_scenario(kafka, site, start_worker, scenario)
    finally:
        for process in started:
            process.stop(timeout_s=20.0)
