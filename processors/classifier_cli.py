"""`actionstream classifier run`: a classifier consumer (start more with the same group for more throughput),
`actionstream tail actions|incidents`: a site's committed action events or incidents, one line each."""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import typer

from streams.schemas import ActionEvent, Event, Incident

if TYPE_CHECKING:
    from confluent_kafka import Consumer

    from streams.topics import Topic

logger = logging.getLogger(__name__)
E = TypeVar("E", bound=Event)

classifier_app = typer.Typer(help="Action classification of selected clips (Kafka transactions).",
                             no_args_is_help=True)
tail_app = typer.Typer(help="Follow the platform's output topics.", no_args_is_help=True)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM; the previous handlers come back afterwards (matters in tests)."""
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@classifier_app.command("run")
def classifier_run(
    model: str = typer.Option("", help="Model reference (alias, models:/ URI or directory); default: settings."),
    metrics_port: int = typer.Option(-1, help="Prometheus port; 0: none; -1: settings (ACTIONSTREAM_METRICS_PORT)."),
) -> None:
    """Classify clips until SIGTERM or Ctrl-C; the batch in hand is committed first."""
    from processors.classifier_consumer import ClassifierConsumer
    from processors.settings import ProcessorSettings
    from streams.broker_monitor import MONITOR
    from streams.health import HEALTH, serve_health

    settings = ProcessorSettings()
    overrides: dict[str, object] = {}
    if model:
        overrides["model"] = settings.model.model_copy(update={"reference": model})
    if metrics_port >= 0:
        overrides["metrics_port"] = metrics_port
    settings = settings.model_copy(update=overrides)
    if settings.metrics_port:
        serve_health(settings.metrics_port, "model", "partitions")
    MONITOR.watch(settings.kafka)
    with stop_on_signals() as stop:
        consumer = ClassifierConsumer(settings)
        HEALTH.passed("model")  # loaded when the consumer was built
        consumer.run(stop)


def format_event(event: ActionEvent) -> str:
    """One line: publish time, site/camera, window, label, confidence, frames used/asked, latency, flags."""
    flags = [name for name, on in (("shed", event.shed), ("incomplete", event.incomplete)) if on]
    return (
        f"{time.strftime('%H:%M:%S', time.localtime(event.published_at))} {event.site}/{event.camera} "
        f"[{time.strftime('%H:%M:%S', time.localtime(event.window_start))}"
        f"+{event.window_end - event.window_start:.1f}s] {event.label} {event.confidence:.2f} "
        f"frames {len(event.frames)}/{event.budget} latency {event.latency.processing * 1000:.0f} ms "
        f"(end-to-end {event.latency.end_to_end * 1000:.0f} ms)"
        + (f" {' '.join(flags)}" if flags else "")
    )


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def format_incident(incident: Incident) -> str:
    """One line: publish time, site/camera, phase, action, its span so far, windows, confidence, why it ended."""
    span = f"{_clock(incident.start)}-{_clock(incident.end)} ({incident.end - incident.start:.0f} s)"
    line = (f"{_clock(incident.published_at)} {incident.site}/{incident.camera} {incident.phase.upper():6} "
            f"{incident.label} {span} windows {incident.windows} confidence {incident.confidence_mean:.2f} "
            f"(max {incident.confidence_max:.2f}) incident {incident.incident_id[:8]}")
    return line + (f" ended: {incident.end_reason}" if incident.end_reason else "")


_FROM_BEGINNING = typer.Option(False, "--from-beginning", help="Start at the oldest retained record.")
_MAX = typer.Option(0, "--max", help="Stop after this many records; 0: until Ctrl-C.")


@tail_app.command("actions")
def tail_actions(
    site: str = typer.Option("demo", help="Site whose actions topic to follow."),
    from_beginning: bool = _FROM_BEGINNING,
    max_events: int = _MAX,
) -> None:
    """Print committed action events as they arrive (read_committed: aborted transactions never show)."""
    from streams.topics import Topic

    _tail(Topic.ACTIONS, site, from_beginning, max_events, ActionEvent, format_event)


@tail_app.command("incidents")
def tail_incidents(
    site: str = typer.Option("demo", help="Site whose incidents topic to follow."),
    from_beginning: bool = _FROM_BEGINNING,
    max_events: int = _MAX,
) -> None:
    """Print committed incidents as they start, grow and end: one incident per action, not one per window."""
    from streams.topics import Topic

    _tail(Topic.INCIDENTS, site, from_beginning, max_events, Incident, format_incident)


def _tail(topic: Topic, site: str, from_beginning: bool, max_events: int, kind: type[E],
          show: Callable[[E], str]) -> None:
    from confluent_kafka import Consumer

    from streams.settings import StreamsSettings
    from streams.topics import topic_name

    settings = StreamsSettings()
    consumer = Consumer({
        **settings.kafka.client_config(),
        "group.id": f"actionstream-tail-{uuid.uuid4().hex[:8]}",  # a private group: never steals partitions
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest" if from_beginning else "latest",
    })
    consumer.subscribe([topic_name(topic, site, settings.kafka.topic_prefix)])
    try:
        with stop_on_signals() as stop:
            _print_records(consumer, stop, max_events, kind, show)
    finally:
        consumer.close()


def _print_records(consumer: Consumer, stop: threading.Event, max_events: int, kind: type[E],
                   show: Callable[[E], str]) -> None:
    from pydantic import ValidationError

    shown = 0
    while not stop.is_set() and (max_events == 0 or shown < max_events):
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error() is not None:
            logger.warning("tail %s: %s", message.topic(), message.error())
            continue
        try:
            record = kind.model_validate_json(message.value() or b"")
        except ValidationError as error:
            logger.warning("not a %s record at %s[%d]@%d: %s", kind.__name__, message.topic(), message.partition(),
                           message.offset(), error.errors()[:1])
            continue
        typer.echo(show(record))
        shown += 1


def register(app: typer.Typer) -> None:
    app.add_typer(classifier_app, name="classifier")
    app.add_typer(tail_app, name="tail")
