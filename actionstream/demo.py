"""`actionstream demo`: the main job on embedded defaults.

Starts what is not running (Kafka, the RTSP server), creates the topics, generates a small synthetic data
set and one synthetic recording per camera, publishes each recording as a live RTSP camera, streams every
camera into Kafka for a bounded time with a live line per camera, prints a summary, and stops what it
started.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import typer
import yaml

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSettings:
    site: str = "demo"
    cameras: int = 4
    seconds: float = 30.0
    feed_seconds: float = 40.0  # each recording loops; different lengths keep the cameras out of step
    feed_width: int = 640
    feed_height: int = 480
    feed_fps: float = 25.0
    sample_fps: float = 8.0
    work_dir: Path = Path("var/demo")
    data_dir: Path = Path("var/data/synthetic")


class Stoppable(Protocol):
    def stop(self) -> bool: ...


@dataclass
class _StartedServices:
    """What the demo started itself, so that it stops exactly that and nothing a user started."""

    services: list[tuple[str, Stoppable]] = field(default_factory=list)

    def add(self, name: str, service: Stoppable) -> None:
        self.services.append((name, service))

    def stop_all(self) -> None:
        for name, service in reversed(self.services):
            logger.info("stopping %s", name)
            service.stop()


def prepare_media(settings: DemoSettings) -> list[Path]:
    """The training set (used by `actionstream train`) and one looping recording per camera."""
    from training.synth import SynthSettings, generate_dataset
    from training.synth_feed import write_camera_feed

    if not (settings.data_dir / "ucfTrainTestlist" / "classInd.txt").exists():
        typer.echo(f"generating the synthetic data set in {settings.data_dir}")
        generate_dataset(SynthSettings(), settings.data_dir)
    feeds = []
    for index in range(settings.cameras):
        path = settings.work_dir / "feeds" / f"cam{index}-{settings.feed_width}x{settings.feed_height}.mp4"
        if not path.exists():
            typer.echo(f"rendering camera recording {path}")
            write_camera_feed(SynthSettings(), path, seconds=settings.feed_seconds + 4 * index, seed=100 + index,
                              width=settings.feed_width, height=settings.feed_height, fps=settings.feed_fps)
        feeds.append(path)
    return feeds


def write_cameras_file(settings: DemoSettings, urls: list[str]) -> Path:
    path = settings.work_dir / "cameras.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    cameras = [
        {"id": f"cam{index}", "kind": "rtsp", "url": url, "sample_fps": settings.sample_fps}
        for index, url in enumerate(urls)
    ]
    path.write_text(yaml.safe_dump({"site": settings.site, "cameras": cameras}, sort_keys=False))
    return path


def run_demo(settings: DemoSettings) -> None:
    from infra.kafka.broker import KafkaBroker
    from infra.rtsp.publisher import FeedPublisher
    from infra.rtsp.server import RtspServer
    from infra.settings import BrokerSettings, RtspServerSettings
    from streams.cameras.adapter import CameraAdapter
    from streams.cameras.config import load_site_config
    from streams.cameras.report import LiveReport, summary_lines
    from streams.settings import StreamsSettings
    from streams.topics import ensure_topics

    started = _StartedServices()
    streams_settings = StreamsSettings()
    try:
        broker = KafkaBroker(BrokerSettings())
        if not broker.status().running:
            typer.echo("starting Kafka")
            broker.start()
            started.add("kafka", broker)
        rtsp_settings = RtspServerSettings()
        rtsp = RtspServer(rtsp_settings)
        if not rtsp.status().running:
            typer.echo("starting the RTSP server")
            rtsp.start()
            started.add("rtsp server", rtsp)
        for change in ensure_topics(streams_settings.kafka, [settings.site]):
            if change.action != "unchanged":
                typer.echo(f"topic {change.name} {change.action}")

        urls = []
        for index, feed in enumerate(prepare_media(settings)):
            publisher = FeedPublisher(rtsp_settings, f"{settings.site}/cam{index}", feed)
            publisher.start()
            started.add(f"camera feed {publisher.url}", publisher)
            urls.append(publisher.url)
        site_config = load_site_config(write_cameras_file(settings, urls))

        typer.echo(f"streaming {len(urls)} RTSP cameras into Kafka for {settings.seconds:g} s")
        live = LiveReport()
        began = time.monotonic()
        stats = CameraAdapter(site_config, streams_settings).run(
            duration_s=settings.seconds,
            report=lambda s, elapsed: typer.echo("\n".join(live.lines(s, elapsed))),
            report_every_s=5.0,
        )
        typer.echo("summary:")
        typer.echo("\n".join(summary_lines(stats, time.monotonic() - began)))
    finally:
        started.stop_all()


def demo(
    cameras: int = typer.Option(4, help="Synthetic RTSP cameras to stream."),
    seconds: float = typer.Option(30.0, help="How long to stream."),
    site: str = typer.Option("demo", help="Site name (topics frames.<site>, actions.<site>)."),
) -> None:
    """Run the main job on embedded defaults and stop everything it started."""
    run_demo(DemoSettings(cameras=cameras, seconds=seconds, site=site))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
