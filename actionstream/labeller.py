"""The demo's labeller: a stand-in for people who label a share of all windows, late, from the synthetic
truth. It reads `outcomes` (every window, idle ones included, so misses get labelled too), picks a
deterministic share of the windows by event id, and publishes each label `delay_s` after it saw the window.

`actionstream labels simulate --truth var/demo/truth.json` runs it; the demo writes the truth file (each
camera's timeline and the time its feed started) and the Procfile starts it.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import typer
from pydantic import BaseModel, Field, ValidationError

from actionstream.demo_report import CameraTruth
from streams.schemas import Label, WindowOutcome
from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)

SOURCE = "demo-labeller"


class LabellerSettings(BaseModel):
    share: float = Field(0.3, ge=0.0, le=1.0, description="Share of all windows that get a label.")
    delay_s: float = Field(5.0, ge=0.0, description="How long after its outcome a window is labelled.")
    min_share: float = Field(0.6, gt=0.0, le=1.0, description="A window's truth is the label of at least this "
                             "share of its action time; windows without a clear truth are not labelled.")
    idle_label: str = Field("idle", description="The label of a window that shows no action.")


@dataclass(frozen=True)
class TruthFile:
    site: str
    cameras: dict[str, CameraTruth]

    def write(self, path: Path, timelines: dict[str, Path]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"site": self.site, "cameras": {
            camera: {"timeline": str(timelines[camera]), "origin": truth.origin}
            for camera, truth in self.cameras.items()}}, indent=1))

    @classmethod
    def read(cls, path: Path) -> TruthFile:
        document = json.loads(path.read_text())
        return cls(str(document["site"]), {
            camera: CameraTruth.from_timeline(Path(entry["timeline"]), float(entry["origin"]))
            for camera, entry in document["cameras"].items()})


def is_selected(event_id: str, share: float) -> bool:
    """Deterministic by event id: a replayed window is labelled or not, as the first time."""
    digest = hashlib.blake2b(event_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


def label_for(outcome: WindowOutcome, truths: TruthFile, settings: LabellerSettings) -> Label | None:
    """The label a person would give this window, or None when it is not picked or has no clear truth."""
    truth = truths.cameras.get(outcome.camera)
    if outcome.site != truths.site or truth is None or not is_selected(outcome.event_id, settings.share):
        return None
    shown = truth.label_of(outcome.window_start, outcome.window_end, settings.min_share)
    if shown is None:
        if truth.label_of(outcome.window_start, outcome.window_end, 1e-9) is not None:
            return None  # some action, but no label holds min_share of it: a person would skip it too
        shown = settings.idle_label
    return Label(event_id=outcome.event_id, label=shown, source=SOURCE)


def run_labeller(kafka: KafkaSettings, truths: TruthFile, settings: LabellerSettings, stop: threading.Event) -> int:
    """Label until `stop`; returns how many labels were published."""
    from confluent_kafka import Consumer

    from streams.labels import LabelPublisher
    from streams.topics import Topic, topic_name

    consumer = Consumer({**kafka.client_config(), "group.id": f"actionstream-labeller-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "isolation.level": "read_committed",
                         "auto.offset.reset": "latest"})
    consumer.subscribe([topic_name(Topic.OUTCOMES, prefix=kafka.topic_prefix)])
    publisher = LabelPublisher(kafka, truths.site)
    due: list[tuple[float, str, Label]] = []
    published = 0
    try:
        while not stop.is_set():
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                try:
                    outcome = WindowOutcome.model_validate_json(message.value() or b"")
                except ValidationError:
                    logger.warning("labeller: not a window outcome at %s[%d]@%d", message.topic(),
                                   message.partition(), message.offset())
                else:
                    if (label := label_for(outcome, truths, settings)) is not None:
                        heapq.heappush(due, (time.monotonic() + settings.delay_s, label.event_id, label))
            ready = []
            while due and due[0][0] <= time.monotonic():
                ready.append(heapq.heappop(due)[2])
            if ready:
                published += publisher.publish(ready)
    finally:
        consumer.close()
    logger.info("labeller stopped: %d labels published", published)
    return published


def simulate(
    truth: Path = typer.Option(Path("var/demo/truth.json"), exists=True, dir_okay=False,
                               help="Truth file the demo writes (each camera's timeline and feed start)."),
    share: float = typer.Option(LabellerSettings().share, envvar="ACTIONSTREAM_LABELLER__SHARE",
                                help="Share of all windows to label."),
    delay_s: float = typer.Option(LabellerSettings().delay_s, help="Seconds between a window's outcome and its label."),
) -> None:
    """Label a share of all windows from the synthetic truth, late, as people would (the demo runs it)."""
    from processors.classifier_cli import stop_on_signals
    from streams.broker_monitor import MONITOR
    from streams.settings import StreamsSettings

    settings = LabellerSettings(share=share, delay_s=delay_s)
    kafka = StreamsSettings().kafka
    MONITOR.watch(kafka)
    with stop_on_signals() as stop:
        run_labeller(kafka, TruthFile.read(truth), settings, stop)


def register(app: typer.Typer) -> None:
    from streams.labels_cli import labels_app

    labels_app.command("simulate")(simulate)
