"""Ingest benchmark: a bare PyAV decode-only loop versus the full camera adapter, on the same 1080p30
H.264 clips, side by side in one run (the machine is shared and noisy: only the ratio is a result).

The adapter's figure covers decode, sampling to 8 fps, resize, JPEG and publishing to the real broker with
every delivery confirmed; both run as fast as possible (file cameras, not real time).
"""

from __future__ import annotations

import logging
import statistics
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import av

from streams.cameras.adapter import CameraAdapter
from streams.cameras.config import CameraConfig, SiteConfig
from streams.settings import KafkaSettings, StreamsSettings
from streams.topics import ensure_topics

logger = logging.getLogger(__name__)

SOURCE_FPS = 30.0
SITE = "bench"


@dataclass(frozen=True)
class IngestBenchSettings:
    clips: int = 2
    seconds: float = 30.0
    width: int = 1920
    height: int = 1080
    sample_fps: float = 8.0
    repeats: int = 3
    clip_dir: Path = Path("var/bench/ingest")


# GOP structures measured. x264's defaults carry B-frames, which nothing references: the adapter skips
# decoding them while the remaining frames still cover the sampling rate. Low-latency IP cameras send none,
# so every frame must be decoded and only resize + JPEG + publish can be saved.
PROFILES: dict[str, int] = {"x264-default-3-bframes": 3, "ip-camera-no-bframes": 0}


def ensure_clips(settings: IngestBenchSettings, b_frames: int) -> list[Path]:
    """Synthetic 1080p30 H.264 recordings with a keyframe every second; rendered once, then reused."""
    from training.synth import SynthSettings
    from training.synth_feed import write_camera_feed

    paths = []
    for index in range(settings.clips):
        name = f"clip{index}-{settings.width}x{settings.height}-{settings.seconds:g}s-bf{b_frames}.mp4"
        path = settings.clip_dir / name
        if not path.exists():
            logger.info("rendering %s", path)
            write_camera_feed(SynthSettings(), path, seconds=settings.seconds, seed=index, width=settings.width,
                              height=settings.height, fps=SOURCE_FPS, b_frames=b_frames)
        paths.append(path)
    return paths


def decode_only(paths: list[Path], threads: int = 0) -> tuple[int, float]:
    """Every frame of every clip through PyAV's decoder and nothing else. Returns (frames, seconds)."""
    frames = 0
    started = time.perf_counter()
    for path in paths:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if threads:
                stream.codec_context.thread_count = threads
            for _ in container.decode(stream):
                frames += 1
    return frames, time.perf_counter() - started


def adapter_run(paths: list[Path], kafka: KafkaSettings, sample_fps: float, threads: int = 0) -> tuple[int, float]:
    """The full adapter over every clip, one camera per clip, one clip after the other (as decode_only).
    Returns (frames published and acknowledged, seconds)."""
    settings = StreamsSettings(kafka=kafka, metrics_port=0)
    published = 0
    started = time.perf_counter()
    for index, path in enumerate(paths):
        camera = CameraConfig(id=f"clip{index}", kind="file", url=str(path), realtime=False,
                              sample_fps=sample_fps, decoder_threads=threads)
        adapter = CameraAdapter(SiteConfig(site=SITE, cameras=[camera]), settings)
        stats = adapter.run()  # ends when the recording ends; stop() waits for every delivery
        if stats[camera.id].published != stats[camera.id].sampled:
            raise RuntimeError(f"{path}: {stats[camera.id].sampled - stats[camera.id].published} frames undelivered")
        published += stats[camera.id].published
    return published, time.perf_counter() - started


@dataclass(frozen=True)
class ProfileResult:
    decode_only_fps: float
    adapter_source_fps: float
    ratio: float
    adapter_single_thread_source_fps: float
    published: int
    source_frames: int


def measure_profile(paths: list[Path], kafka: KafkaSettings, settings: IngestBenchSettings) -> ProfileResult:
    adapter_run(paths[:1], kafka, settings.sample_fps)  # warm-up: broker connections, codec start-up
    decode_fps, adapter_fps, single_thread_fps = [], [], []
    published = source_frames = 0
    for repeat in range(settings.repeats):
        # Interleaved, so that load from other processes hits both sides alike.
        source_frames, decode_s = decode_only(paths)
        published, adapter_s = adapter_run(paths, kafka, settings.sample_fps)
        _, single_s = adapter_run(paths, kafka, settings.sample_fps, threads=1)
        decode_fps.append(source_frames / decode_s)
        adapter_fps.append(source_frames / adapter_s)
        single_thread_fps.append(source_frames / single_s)
        logger.info("repeat %d: decode-only %.0f fps, adapter %.0f fps, adapter 1 thread %.0f fps",
                    repeat + 1, decode_fps[-1], adapter_fps[-1], single_thread_fps[-1])
    ratios = [a / d for a, d in zip(adapter_fps, decode_fps, strict=True)]
    return ProfileResult(
        decode_only_fps=round(statistics.median(decode_fps), 1),
        adapter_source_fps=round(statistics.median(adapter_fps), 1),
        ratio=round(statistics.median(ratios), 3),
        adapter_single_thread_source_fps=round(statistics.median(single_thread_fps), 1),
        published=published,
        source_frames=source_frames,
    )


def run_ingest_bench(settings: IngestBenchSettings, bootstrap_servers: str) -> dict[str, object]:
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=f"bench-{uuid.uuid4().hex[:6]}.")
    ensure_topics(kafka, [SITE])
    results = {
        profile: measure_profile(ensure_clips(settings, b_frames), kafka, settings)
        for profile, b_frames in PROFILES.items()
    }
    main = results["x264-default-3-bframes"]
    worst_single = min(result.adapter_single_thread_source_fps for result in results.values())
    return {
        "bench": "ingest",
        "clips": f"{settings.clips}x{settings.seconds:g}s {settings.width}x{settings.height}@{SOURCE_FPS:g} H.264",
        "decode_only_fps": main.decode_only_fps,
        "adapter_source_fps": main.adapter_source_fps,
        "ratio": main.ratio,
        "published": main.published,
        "profiles": {profile: asdict(result) for profile, result in results.items()},
        # One decoder thread is about one core: how many 30 fps cameras it keeps up with at 8 fps sampling,
        # for the harder profile (every frame decoded).
        "cameras_per_core_at_8fps": round(worst_single / SOURCE_FPS, 1),
    }
