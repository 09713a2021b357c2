"""`bench pipeline`: the whole stream in real time. K synthetic RTSP cameras -> adapter -> selector worker
(stages 1 and 2) -> classifier -> actions, on this machine's broker and RTSP server.

Per K: processing latency (action publish - window end) p50/p99 after a warm-up, end-to-end latency, windows
lost (a clip with no action event) and duplicate events (read_committed). Separately, stage-1 efficiency:
a backlog of frames drained by a selector worker, against the same encoder backend run standalone on the
same frames, measured one after the other in the same run.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from confluent_kafka import Producer

from infra.process import ManagedProcess, tail
from infra.rtsp.publisher import FeedPublisher
from infra.rtsp.server import RtspServer
from infra.settings import RtspServerSettings
from streams.reader import TopicReader
from streams.records import Clip, ScoredFrame
from streams.schemas import ActionEvent, FrameHeaders
from streams.settings import KafkaSettings
from streams.topics import Topic, ensure_topics, topic_name

SITE = "bench"


@dataclass(frozen=True)
class PipelineBenchSettings:
    cameras: list[int] = field(default_factory=lambda: [4, 8, 12])
    seconds: float = 45.0
    warmup_s: float = 15.0  # windows ending earlier are not counted (workers loading, groups joining)
    drain_s: float = 30.0  # after the cameras stop: longest wait for the last events
    sample_fps: float = 8.0
    feed_width: int = 640
    feed_height: int = 360
    feed_fps: float = 25.0
    backlog_frames: int = 1200
    p99_bound_s: float = 1.0
    model: str = "production"
    precision: str = "fp32"  # encoder precision for stage 1 and the standalone run (int8: ONNX Runtime static)
    bootstrap_servers: str = "127.0.0.1:9092"
    work_dir: Path = Path("var/bench/pipeline")


@dataclass(frozen=True)
class TrialResult:
    cameras: int
    processing_p50_ms: float
    processing_p99_ms: float
    end_to_end_p50_ms: float
    end_to_end_p99_ms: float
    events: int
    clips: int
    lost: int
    duplicates: int
    shed: int


def percentile_ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else float("nan")


def trial_result(cameras: int, clips: list[Clip], events: list[ActionEvent], counted_from: float) -> TrialResult:
    """Latency over events of windows ending after the warm-up; losses and duplicates over everything."""
    clip_ids = {clip.clip_id for clip in clips}
    event_ids = [event.event_id for event in events]
    counted = [event for event in events if event.window_end >= counted_from]
    return TrialResult(
        cameras=cameras,
        processing_p50_ms=percentile_ms([event.latency.processing for event in counted], 50),
        processing_p99_ms=percentile_ms([event.latency.processing for event in counted], 99),
        end_to_end_p50_ms=percentile_ms([event.latency.end_to_end for event in counted], 50),
        end_to_end_p99_ms=percentile_ms([event.latency.end_to_end for event in counted], 99),
        events=len(event_ids),
        clips=len(clip_ids),
        lost=len(clip_ids - set(event_ids)),
        duplicates=len(event_ids) - len(set(event_ids)),
        shed=sum(event.shed for event in events),
    )


def read_topic(kafka: KafkaSettings, topic: str) -> list[bytes]:
    """Every committed record of the topic, up to its current end."""
    with TopicReader(kafka, topic, since=0.0) as reader:
        return [message.value() for message in reader.drain()]


class PipelineBench:
    def __init__(self, settings: PipelineBenchSettings, bundle_dir: Path) -> None:
        self.settings = settings
        self.bundle_dir = bundle_dir
        self.settings.work_dir.mkdir(parents=True, exist_ok=True)

    def _kafka(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.settings.bootstrap_servers,
                             topic_prefix=f"bench{uuid.uuid4().hex[:6]}.")

    def _env(self, kafka: KafkaSettings) -> dict[str, str]:
        return {"ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
                "ACTIONSTREAM_KAFKA__TOPIC_PREFIX": kafka.topic_prefix, "ACTIONSTREAM_SITES": f'["{SITE}"]',
                "ACTIONSTREAM_MODEL__REFERENCE": str(self.bundle_dir), "ACTIONSTREAM_METRICS_PORT": "0",
                "ACTIONSTREAM_MODEL__PRECISION": self.settings.precision,
                "ACTIONSTREAM_STATE_DIR": str(self.settings.work_dir / "state" / kafka.topic_prefix)}

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> ManagedProcess:
        import sys

        process = ManagedProcess(name, self.settings.work_dir / "logs")
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

    def standalone_img_per_s(self, jpegs: list[bytes], batch: int = 32) -> float:
        from models.runtime import SmartRuntime
        from streams.codec import decode_jpeg

        runtime = SmartRuntime.from_directory(self.bundle_dir, precision=self.settings.precision)
        size = runtime.bundle.preprocessing.image_size
        images = np.stack([decode_jpeg(jpeg, (size, size)) for jpeg in jpegs])
        runtime.encode(images[:batch])  # warm-up
        started = time.perf_counter()
        for first in range(0, len(images), batch):
            runtime.encode(images[first:first + batch])
        return len(images) / (time.perf_counter() - started)

    def stage1_img_per_s(self, jpegs: list[bytes]) -> float:
        """Scored frames/s of one selector worker draining a backlog (the first batch, startup, not counted)."""
        kafka = self._kafka()
        ensure_topics(kafka, [SITE])
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
        worker = self._start("stage1-backlog", ["selector", "run"], self._env(kafka))
        try:
            scored_topic = topic_name(Topic.SCORED_FRAMES, prefix=kafka.topic_prefix)
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                values = read_topic(kafka, scored_topic)
                if len(values) >= len(jpegs):
                    break
                if not worker.is_running():
                    raise RuntimeError(f"selector worker exited:\n{tail(worker.log_file, 30)}")
                time.sleep(5.0)
            times = sorted({ScoredFrame.from_bytes(value).scored_time for value in values})
        finally:
            worker.stop()
        # scored_time is per batch: count the frames after the first batch over the time they took.
        first_batch = sum(1 for value in values if ScoredFrame.from_bytes(value).scored_time == times[0])
        return (len(values) - first_batch) / (times[-1] - times[0])

    # Real-time trials ---------------------------------------------------------------------------------------

    def trial(self, cameras: int, rtsp: RtspServer) -> TrialResult:
        settings, kafka = self.settings, self._kafka()
        ensure_topics(kafka, [SITE])
        publishers = [FeedPublisher(rtsp.settings, f"{kafka.topic_prefix}cam{index}", feed)
                      for index, feed in enumerate(self.feeds(cameras))]
        env = self._env(kafka)
        processes: list[ManagedProcess] = []
        try:
            for publisher in publishers:
                publisher.start()
            processes.append(self._start("selector", ["selector", "run"], env))
            processes.append(self._start("classifier", ["classifier", "run"], env))
            config = settings.work_dir / f"cameras-{kafka.topic_prefix}yaml"
            config.write_text(yaml.safe_dump({"site": SITE, "cameras": [
                {"id": f"cam{index}", "kind": "rtsp", "url": publisher.url, "sample_fps": settings.sample_fps}
                for index, publisher in enumerate(publishers)]}))
            started = time.time()
            adapter = self._start("cameras", ["cameras", "run", "--config", str(config)], env)
            time.sleep(settings.seconds)
            adapter.stop()
            self._drain(kafka, processes)
        finally:
            for process in processes:
                process.stop()
            for publisher in publishers:
                publisher.stop()
        clips = [Clip.from_bytes(value) for value in read_topic(kafka, topic_name(Topic.CLIPS,
                                                                                   prefix=kafka.topic_prefix))]
        events = [ActionEvent.model_validate_json(value)
                  for value in read_topic(kafka, topic_name(Topic.ACTIONS, SITE, kafka.topic_prefix))]
        return trial_result(cameras, clips, events, started + settings.warmup_s)

    def _drain(self, kafka: KafkaSettings, processes: list[ManagedProcess]) -> None:
        """Wait until every clip has its event (or the drain time is up) before stopping the workers."""
        deadline = time.monotonic() + self.settings.drain_s
        while time.monotonic() < deadline:
            clips = {Clip.from_bytes(value).clip_id
                     for value in read_topic(kafka, topic_name(Topic.CLIPS, prefix=kafka.topic_prefix))}
            events = {ActionEvent.model_validate_json(value).event_id
                      for value in read_topic(kafka, topic_name(Topic.ACTIONS, SITE, kafka.topic_prefix))}
            if clips <= events:
                return
            for process in processes:
                if not process.is_running():
                    raise RuntimeError(f"{process.name} exited:\n{tail(process.log_file, 30)}")
            time.sleep(2.0)


def rtsp_server() -> RtspServer:
    from infra.services import ensure_rtsp_server

    return ensure_rtsp_server(settings=RtspServerSettings())
