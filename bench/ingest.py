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
from streams.cameras.config import CameraConfig, DecoderThreading, SiteConfig
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
    # IP cameras stream 1080p30 at about 4-8 Mbit/s; x264's default quality would squeeze this synthetic
    # scene (flat shapes, mild noise) to about 1 Mbit/s, far cheaper to decode than any real camera.
    bit_rate: int = 6_000_000


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
        encoding = f"{settings.width}x{settings.height}-{settings.seconds:g}s-bf{b_frames}-{settings.bit_rate // 1000}k"
        path = settings.clip_dir / f"clip{index}-{encoding}.mp4"
        if not path.exists():
            logger.info("rendering %s", path)
            write_camera_feed(SynthSettings(), path, seconds=settings.seconds, seed=index, width=settings.width,
                              height=settings.height, fps=SOURCE_FPS, b_frames=b_frames,
                              bit_rate=settings.bit_rate)
        paths.append(path)
    return paths


def decode_only(paths: list[Path], threading: DecoderThreading) -> tuple[int, float]:
    """Every frame of every clip through PyAV's decoder and nothing else. Returns (frames, seconds)."""
    frames = 0
    started = time.perf_counter()
    for path in paths:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = threading
            for _ in container.decode(stream):
                frames += 1
    return frames, time.perf_counter() - started


def adapter_run(
    paths: list[Path], kafka: KafkaSettings, sample_fps: float, threading: DecoderThreading
) -> tuple[int, float]:
    """The full adapter over every clip, one camera per clip, one clip after the other (as decode_only).
    Returns (frames published and acknowledged, seconds)."""
    settings = StreamsSettings(kafka=kafka, metrics_port=0)
    published = 0
    started = time.perf_counter()
    for index, path in enumerate(paths):
        camera = CameraConfig(id=f"clip{index}", kind="file", url=str(path), realtime=False,
                              sample_fps=sample_fps, decoder_threading=threading)
        adapter = CameraAdapter(SiteConfig(site=SITE, cameras=[camera]), settings)
        stats = adapter.run()  # ends when the recording ends; stop() waits for every delivery
        if stats[camera.id].published != stats[camera.id].sampled:
            raise RuntimeError(f"{path}: {stats[camera.id].sampled - stats[camera.id].published} frames undelivered")
        published += stats[camera.id].published
    return published, time.perf_counter() - started


@dataclass(frozen=True)
class ProfileResult:
    decoder_threading: str
    bitrate_mbps: float
    decode_only_fps: float
    adapter_source_fps: float
    ratio: float
    adapter_cpu_ms_per_source_frame: float  # every thread of the adapter process (decode, encode, Kafka client)
    published: int
    source_frames: int


def measure_profile(
    paths: list[Path], kafka: KafkaSettings, settings: IngestBenchSettings, threading: DecoderThreading
) -> ProfileResult:
    """Decode-only and the adapter with the same decoder threading, interleaved so that load from other
    processes hits both sides alike; medians of the repeats."""
    adapter_run(paths[:1], kafka, settings.sample_fps, threading)  # warm-up: broker connections, codecs
    decode_fps, adapter_fps, cpu_per_frame = [], [], []
    published = source_frames = 0
    for repeat in range(settings.repeats):
        source_frames, decode_s = decode_only(paths, threading)
        cpu_before = time.process_time()
        published, adapter_s = adapter_run(paths, kafka, settings.sample_fps, threading)
        cpu_per_frame.append((time.process_time() - cpu_before) / source_frames)
        decode_fps.append(source_frames / decode_s)
        adapter_fps.append(source_frames / adapter_s)
        logger.info("%s repeat %d: decode-only %.0f fps, adapter %.0f fps", threading, repeat + 1,
                    decode_fps[-1], adapter_fps[-1])
    ratios = [a / d for a, d in zip(adapter_fps, decode_fps, strict=True)]
    bits = sum(path.stat().st_size * 8 for path in paths)
    return ProfileResult(
        decoder_threading=threading,
        bitrate_mbps=round(bits / (source_frames / SOURCE_FPS) / 1e6, 2),
        decode_only_fps=round(statistics.median(decode_fps), 1),
        adapter_source_fps=round(statistics.median(adapter_fps), 1),
        ratio=round(statistics.median(ratios), 3),
        adapter_cpu_ms_per_source_frame=round(1000 * statistics.median(cpu_per_frame), 3),
        published=published,
        source_frames=source_frames,
    )


# The adapter's default (one decoder thread per camera) and FFmpeg's frame + slice threading.
THREADING_MODES: tuple[DecoderThreading, ...] = ("SLICE", "AUTO")


def run_ingest_bench(settings: IngestBenchSettings, bootstrap_servers: str) -> dict[str, object]:
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=f"bench-{uuid.uuid4().hex[:6]}.")
    ensure_topics(kafka, [SITE])
    results = {
        f"{profile}/{threading}": measure_profile(ensure_clips(settings, b_frames), kafka, settings, threading)
        for profile, b_frames in PROFILES.items()
        for threading in THREADING_MODES
    }
    main = results["x264-default-3-bframes/SLICE"]
    # CPU time per source frame of the harder profile (every frame decoded): 30 fps cameras per core.
    hardest = results["ip-camera-no-bframes/SLICE"]
    return {
        "bench": "ingest",
        "clips": f"{settings.clips}x{settings.seconds:g}s {settings.width}x{settings.height}@{SOURCE_FPS:g} H.264",
        "decode_only_fps": main.decode_only_fps,
        "adapter_source_fps": main.adapter_source_fps,
        "ratio": main.ratio,
        "published": main.published,
        "runs": {name: asdict(result) for name, result in results.items()},
        "cameras_per_core_at_8fps": round(1000 / (hardest.adapter_cpu_ms_per_source_frame * SOURCE_FPS), 1),
    }
