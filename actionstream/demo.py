"""`actionstream demo`: the main job on embedded defaults.

Starts what is not running (Kafka, the RTSP server), creates the topics, generates a small synthetic data
set and one looping synthetic recording per camera, publishes each recording as a live RTSP camera, trains
and promotes a small model if the registry has no `production` one, runs every process of the Procfile
with honcho, prints the action events as they arrive for a bounded time, stops everything it started and
prints a summary scored against the synthetic truth.

With the monitoring loop on (the default), one camera's scene drifts mid-run and the demo follows the loop on
its topics (actionstream/demo_loop.py): the drift alert, the retrain request, the candidate's evaluation, the
promotion or refusal; it runs until the loop has run once (and the promoted model has served a while), then
ends with each camera's drift status, the HTML reports and the drifted camera's accuracy before and after.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import typer
import yaml

from actionstream.console.cli import console_url
from actionstream.demo_loop import LoopSettings, LoopWatcher, SceneSwitch, forget_table_changelogs, skip_backlog
from actionstream.demo_monitoring import alert_lines, start_monitoring
from actionstream.demo_report import CameraTruth, event_line, summarize, verdict_of
from infra.process import ManagedProcess, ServiceError, tail
from infra.procfile_runner import STOP_GRACE_ENV

if TYPE_CHECKING:
    from actionstream.event_scoring import ShiftPhases
    from models.bundle import Manifest
    from streams.reader import TopicReader
    from streams.schemas import ActionEvent, WindowOutcome
    from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "production"
# How the demo trains its base model; a base model tagged with another recipe (or none) is trained again.
# 2: 24 clips a class (12 before) and no frame of an idle clip worth choosing (training/oracle.py).
DEMO_RECIPE = "2"
RECIPE_TAG = "demo_recipe"
PROCFILE = Path(__file__).resolve().parents[1] / "Procfile"


@dataclass(frozen=True)
class DemoSettings:
    site: str = "demo"
    cameras: int = 4
    seconds: float | None = None  # None: 60 s, or with the loop until it has run (at most loop.timeout_s)
    model: str = DEFAULT_MODEL  # alias (trained and promoted when it is the default and missing) or a bundle dir
    # The training set: 12 clips a class (36 training clips after validation and test) missed bursts on
    # backgrounds it had not seen; 24 took event recall on 168 held-out clips of another seed from 0.933 to 0.990.
    clips_per_class: int = 24
    feed_seconds: float = 40.0  # each recording loops; different lengths keep the cameras out of step
    feed_width: int = 640
    feed_height: int = 480
    feed_fps: float = 25.0
    sample_fps: float = 8.0
    work_dir: Path = Path("var/demo")
    data_dir: Path = Path("var/data/synthetic")
    procfile: Path = PROCFILE
    metrics_port: int = 9464  # honcho gives the Procfile's processes $PORT = 9464, 9564, 9664, ...
    truth_min_share: float = 0.6  # a window's truth is the label of at least this share of its action time
    event_min_overlap_s: float = 0.25  # an event reports a true action when its window overlaps it this long
    idle_share: float = 0.4  # share of each feed's clips that show no action (a real camera mostly shows none)
    # Beside the idle class, a top action less confident than this is idle. None: the floor the served model's
    # training chose on its validation clips (stored in the bundle).
    min_action_confidence: float | None = None
    camera_process: str = "cameras"  # the Procfile process started once the workers are ready
    ready_timeout_s: float = 180.0  # workers join their groups and load their models (slow on a busy machine)
    # Every stream worker, not only the scoring path: the sinks, the drift job and the retrain worker import and
    # load for up to ~25 s, and the first windows shared the two cores with that (select hops 1.1-1.45 s, shed).
    ready_processes: tuple[str, ...] = ("scorer", "selector", "classifier", "features", "archive", "drift",
                                        "retrain", "rollback")
    stop_timeout_s: float = 30.0
    keep_open: bool = False  # after the summary, leave the stack and the console running until Ctrl-C
    loop: LoopSettings | None = field(default_factory=LoopSettings)  # None: no drifting camera

    @property
    def run_seconds(self) -> float:
        if self.seconds is not None:
            return self.seconds
        return self.loop.timeout_s if self.loop is not None else 60.0


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


@dataclass(frozen=True)
class _Processes:
    """The Procfile's processes under one honcho, stopped as a group (honcho passes SIGTERM on); the cameras
    under a second one, started once the workers are ready and stopped first."""

    honcho: ManagedProcess
    cameras: ManagedProcess
    timeout_s: float

    def is_running(self) -> bool:
        return self.honcho.is_running() and (self.cameras.pid is None or self.cameras.is_running())

    def stop(self) -> bool:
        cameras_stopped = self.cameras.pid is None or self.cameras.stop(timeout_s=self.timeout_s)
        return self.honcho.stop(timeout_s=self.timeout_s) and cameras_stopped


def prepare_media(settings: DemoSettings) -> list[Path]:
    """The training set (used by `actionstream train`) and one looping recording per camera; each
    recording has its timeline (which action plays when) beside it."""
    from training.synth import SynthSettings, generate_dataset

    # The model learns "no action" as the class idle.
    synth = SynthSettings(idle_class=True, clips_per_class=settings.clips_per_class)
    if _data_set_size(settings.data_dir) != (synth.class_names, synth.clips_per_class * len(synth.class_names)):
        typer.echo(f"generating the synthetic data set in {settings.data_dir}")
        generate_dataset(synth, settings.data_dir, progress=sys.stderr.isatty())
    return [camera_feed(settings, index) for index in range(settings.cameras)]


def camera_feed(settings: DemoSettings, index: int, loop: LoopSettings | None = None) -> Path:
    """One camera's looping recording (rendered once); with `loop`, its shifted twin: the same script (seed),
    seen as the loop's shift makes it look."""
    from training.synth import SynthSettings
    from training.synth_feed import timeline_path, write_camera_feed

    shift = loop.feed_shift() if loop is not None else None
    name = (f"cam{index}-{settings.feed_width}x{settings.feed_height}-idle{settings.idle_share:g}"
            + (f"-{loop.feed_tag()}" if loop is not None else ""))
    path = settings.work_dir / "feeds" / f"{name}.mp4"
    if not (path.exists() and timeline_path(path).exists()):
        write_camera_feed(SynthSettings(), path, seconds=settings.feed_seconds + 4 * index, seed=100 + index,
                          width=settings.feed_width, height=settings.feed_height, fps=settings.feed_fps,
                          shift=shift, idle_share=settings.idle_share)
    return path


def write_cameras_file(settings: DemoSettings, urls: list[str]) -> Path:
    """The cameras file the Procfile's `cameras` process reads (var/demo/cameras.yaml by default)."""
    path = settings.work_dir / "cameras.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    cameras = [
        {"id": f"cam{index}", "kind": "rtsp", "url": url, "sample_fps": settings.sample_fps}
        for index, url in enumerate(urls)
    ]
    path.write_text(yaml.safe_dump({"site": settings.site, "cameras": cameras}, sort_keys=False))
    return path


def _alias_exists(alias: str) -> bool:
    from models.registry import RegistrySettings, alias_version

    return alias_version(RegistrySettings(), alias) is not None


def _served_manifest(alias: str) -> Manifest:
    import tempfile

    from models.bundle import MANIFEST_FILE, Manifest
    from models.registry import RegistrySettings, resolve_bundle_dir

    with tempfile.TemporaryDirectory(prefix="actionstream-demo-") as directory:
        bundle_dir = resolve_bundle_dir(alias, RegistrySettings(), Path(directory))
        return Manifest.model_validate_json((bundle_dir / MANIFEST_FILE).read_text())


def _retrain_reason(alias: str, data_dir: Path) -> str | None:
    """Why the default model no longer fits the demo, None when it does. A run starts from @demo-base where it
    exists (a promoted retrain candidate serves as `alias` until then), so that is the version checked."""
    from actionstream.demo_loop import BASE_ALIAS
    from models.registry import RegistrySettings, alias_version, version_tags

    registry = RegistrySettings()
    checked = BASE_ALIAS if alias_version(registry, BASE_ALIAS) is not None else alias
    version = alias_version(registry, checked)
    recipe = version_tags(registry, version).get(RECIPE_TAG) if version is not None else None
    return retrain_reason(_served_manifest(checked), recipe, _data_classes(data_dir))


def retrain_reason(manifest: Manifest, recipe: str | None, classes: list[str]) -> str | None:
    """Why a base model with this manifest and recipe tag does not fit a demo on `classes`, None when it does."""
    if manifest.classes != classes:
        return "knows other classes than the synthetic set"
    if "min_action_confidence" not in manifest.model_fields_set:
        return "carries no open-set floor (trained before the floor travelled with the model)"
    if manifest.encoder_digest is None:
        return "records no encoder digest (its retrain candidates would export the encoder again)"
    if recipe != DEMO_RECIPE:
        return f"was trained by demo recipe {recipe or 1}, not {DEMO_RECIPE} (more clips, a fixed selector target)"
    return None


def _data_classes(data_dir: Path) -> list[str]:
    return (data_dir / "ucfTrainTestlist" / "classInd.txt").read_text().split()[1::2]


def _data_set_size(data_dir: Path) -> tuple[list[str], int] | None:
    """The classes and clip count of the synthetic set in `data_dir`, None when there is none."""
    lists = data_dir / "ucfTrainTestlist"
    if not (lists / "classInd.txt").exists():
        return None
    clips = sum(len((lists / name).read_text().splitlines()) for name in ("trainlist01.txt", "testlist01.txt"))
    return _data_classes(data_dir), clips


def prepare_model(settings: DemoSettings) -> str:
    """The model reference the processes serve: a bundle directory or a registry alias; with the default
    alias missing, train a small model on the synthetic set and promote it."""
    if Path(settings.model).is_dir():
        return str(Path(settings.model).resolve())  # the processes may resolve it from elsewhere
    exists = _alias_exists(settings.model)
    reason = _retrain_reason(settings.model, settings.data_dir) if exists and settings.model == DEFAULT_MODEL else None
    if exists and reason is None:
        return settings.model
    if settings.model != DEFAULT_MODEL:
        raise typer.BadParameter(f"no bundle directory and no registry alias {settings.model!r}", param_hint="--model")
    from actionstream.demo_loop import BASE_ALIAS
    from models.registry import set_alias, set_version_tags
    from training.config import load_config
    from training.pipeline import run_training

    typer.echo(f"the @{DEFAULT_MODEL} model {reason or 'is missing'}: training one on the synthetic set "
               "(a few minutes)")
    config = load_config([], [f"data.synthetic_dir={settings.data_dir}"])
    outcome = run_training(config, Path("var/runs") / time.strftime("demo-%Y%m%d-%H%M%S"), track=True,
                           progress=sys.stderr.isatty())
    if outcome.model_version is None:
        raise RuntimeError("training registered no model version")
    set_version_tags(config.tracking, outcome.model_version, {RECIPE_TAG: DEMO_RECIPE})
    set_alias(config.tracking, outcome.model_version, DEFAULT_MODEL)
    set_alias(config.tracking, outcome.model_version, BASE_ALIAS)  # the monitoring loop starts from it
    typer.echo(f"trained version {outcome.model_version} (test {outcome.test_results['smart']}); now @{DEFAULT_MODEL}")
    return DEFAULT_MODEL


def processes_env(settings: DemoSettings, model: str) -> dict[str, str]:
    """What the Procfile's processes read on top of the demo's own environment (broker, prefix)."""
    return {
        "ACTIONSTREAM_SITES": f'["{settings.site}"]',
        "ACTIONSTREAM_MODEL__REFERENCE": model,
        # `actionstream` of this interpreter, also when the virtualenv is not activated
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        # honcho's own SIGKILL comes this long after the first process stopped: before the demo's own deadline
        STOP_GRACE_ENV: str(max(settings.stop_timeout_s - 5.0, 5.0)),
        **({"ACTIONSTREAM_CLASSIFIER__MIN_ACTION_CONFIDENCE": str(settings.min_action_confidence)}
           if settings.min_action_confidence is not None else {}),
        **(settings.loop.process_env() if settings.loop is not None else {}),
    }


def start_processes(settings: DemoSettings, model: str) -> _Processes:
    """Run the Procfile under honcho in the background; its log holds every process's output."""
    honcho = ManagedProcess("honcho", settings.work_dir.resolve())
    if honcho.is_running():
        raise ServiceError(f"a demo's processes are already running (pid file {honcho.pid_file})")
    # Concurrency 0 leaves the cameras out and every other process on its usual port.
    honcho.start(
        [sys.executable, "-m", "infra.procfile_runner", "start", "--no-colour", "-f", str(settings.procfile),
         "-p", str(settings.metrics_port), "-c", f"{settings.camera_process}=0"],
        env=processes_env(settings, model),
    )
    return _Processes(honcho, ManagedProcess("honcho-cameras", settings.work_dir.resolve()), settings.stop_timeout_s)


def start_cameras_when_ready(settings: DemoSettings, processes: _Processes, model: str) -> None:
    """Wait until the workers own their partitions and serve their model, then start the cameras: frames
    published earlier would queue up in front of workers still starting and delay every later window."""
    from honcho.environ import parse_procfile

    from actionstream.readiness import Endpoint, wait_until_ready
    from infra.prometheus.targets import HONCHO_PORT_STEP

    names = list(parse_procfile(settings.procfile.read_text()).processes)
    port_of = {name: settings.metrics_port + index * HONCHO_PORT_STEP for index, name in enumerate(names)}
    endpoints = [Endpoint(name, f"127.0.0.1:{port_of[name]}") for name in settings.ready_processes]
    try:
        waited = wait_until_ready(endpoints, settings.ready_timeout_s, processes.honcho.is_running)
    except (TimeoutError, RuntimeError) as error:
        raise ServiceError(f"{error}\n{tail(processes.honcho.log_file, 40)}") from error
    typer.echo(f"workers ready after {waited:.0f} s ({', '.join(settings.ready_processes)}): starting the cameras")
    processes.cameras.start(
        [sys.executable, "-m", "infra.procfile_runner", "start", "--no-colour", "-f", str(settings.procfile),
         "-p", str(port_of[settings.camera_process]), settings.camera_process],
        env=processes_env(settings, model),
    )


def stream_events(reader: TopicReader, processes: _Processes, seconds: float,
                  show: Callable[[ActionEvent], None], watcher: LoopWatcher | None = None,
                  after_update_windows: int = 0, keep_running: bool = False, drifted_camera: str = "") -> None:
    """Show events (and the loop's steps) for `seconds` or until the loop has run, stop the processes, then
    show what they committed while stopping."""
    from actionstream.demo_topics import parse_event

    started = time.monotonic()
    deadline = started + seconds
    try:
        while time.monotonic() < deadline:
            if not processes.is_running():
                raise ServiceError(f"a process of the Procfile exited early:\n{tail(processes.honcho.log_file, 40)}")
            if (message := reader.poll(0.5)) is not None and (event := parse_event(message)) is not None:
                show(event)
            if watcher is not None:
                watcher.poll()
                if watcher.done(drifted_camera, after_update_windows):
                    break
    except KeyboardInterrupt:
        # The services run in sessions of their own, so Ctrl-C reached only the demo: a person who stops a long
        # run early still gets the summary of what ran (a second Ctrl-C skips it).
        typer.echo(f"interrupted after {time.monotonic() - started:.0f} s: the summary covers what ran")
        keep_running = False
    if keep_running:  # --keep-open: the processes stay up behind the console
        return
    typer.echo("stopping the processes")
    processes.stop()
    for message in reader.drain():  # the classifier commits its last batch when stopped
        if (event := parse_event(message)) is not None:
            show(event)
    if watcher is not None:
        watcher.poll(flush=True)


def shift_phases(settings: DemoSettings, watcher: LoopWatcher, base_version: str, outcomes: list[WindowOutcome],
                 shift_at: float) -> ShiftPhases:
    """The shifted camera's phases for the event summary: before the shift, under the base model, promoted."""
    from actionstream.event_scoring import ShiftPhases, promoted_at

    assert settings.loop is not None
    camera, new_version = f"cam{settings.loop.camera}", watcher.state.promoted_version()
    switched = [start for other in sorted({outcome.camera for outcome in outcomes} - {camera})
                if (start := promoted_at(outcomes, other, new_version)) is not None]
    return ShiftPhases(camera, shift_at, base_version, new_version, promoted_at(outcomes, camera, new_version),
                       (min(switched), max(switched)) if switched else None)


def loop_summary(settings: DemoSettings, watcher: LoopWatcher, truths: dict[str, CameraTruth], base_version: str,
                 outcomes: list[WindowOutcome], since: float, shift_at: float) -> list[str]:
    """Each camera's drift status, the HTML reports of the run, the drifted camera's accuracy before and after."""
    from actionstream.demo_loop_report import accuracy_line, camera_accuracy, report_file_lines, status_lines
    from processors.drift.settings import ReportSettings

    assert settings.loop is not None
    lines = status_lines(watcher.state, sorted(truths))
    reports = sorted(path for path in ReportSettings().reports_dir.glob("*.html") if path.stat().st_mtime >= since)
    lines += report_file_lines(reports, settings.site, sorted(truths))
    camera = f"cam{settings.loop.camera}"
    truth = truths[camera]
    phases = camera_accuracy(outcomes, camera, truth, shift_at, base_version, watcher.state.promoted_version(),
                             settings.truth_min_share)
    return [*lines, accuracy_line(camera, phases)]


def skip_earlier_runs(kafka: KafkaSettings, site: str) -> None:
    """The run starts on its own records. A lagging earlier run leaves frames unread: this run's scene would reach
    the drift job minutes late, and a retrain request it left open would be trained (and promoted) on that run's
    windows. Its open windows, restored whole from the selector's changelog, would close at this run's first
    frames as windows hours old (seen in a --no-drift run: its first six outcomes, shed, 1.6 h after their end)."""
    from processors.archive.settings import ArchiveSettings
    from processors.drift.job_settings import DriftJobSettings
    from processors.retrain.guard import GuardSettings
    from processors.retrain.settings import RetrainSettings
    from processors.selector.stage1 import stage1_group_id
    from processors.settings import ProcessorSettings

    processors = ProcessorSettings()
    skip_backlog(kafka, [processors.app_id, stage1_group_id(kafka.topic_prefix, processors.app_id),
                         processors.classifier.group_id, DriftJobSettings().job.group_id,
                         ArchiveSettings().archive.group_id, RetrainSettings().worker.group_id,
                         GuardSettings().guard.group_id], [site])
    forget_table_changelogs(kafka, processors.app_id)


def run_demo(settings: DemoSettings) -> None:
    from actionstream.demo_topics import count_topics, read_outcomes
    from actionstream.labeller import TruthFile
    from infra.kafka.broker import KafkaBroker
    from infra.rtsp.publisher import FeedPublisher
    from infra.rtsp.server import RtspServer
    from infra.settings import BrokerSettings, RtspServerSettings
    from streams.reader import TopicReader
    from streams.settings import StreamsSettings
    from streams.topics import Topic, ensure_topics, topic_name
    from training.synth_feed import timeline_path

    if settings.loop is not None and settings.loop.camera >= settings.cameras:
        raise typer.BadParameter(f"the drifting camera cam{settings.loop.camera} is not among the "
                                 f"{settings.cameras} cameras", param_hint="--cameras")
    # MLflow's artifact download bars, here and in the processes (they inherit it), only on a terminal.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", str(sys.stderr.isatty()).lower())
    started = _StartedServices()
    kafka = StreamsSettings().kafka
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
        for change in ensure_topics(kafka, [settings.site]):
            if change.action != "unchanged":
                typer.echo(f"topic {change.name} {change.action}")
        # Idempotent; a child process keeps Feast (~10 s to import) out of the demo's own.
        subprocess.run([sys.executable, "-m", "actionstream", "features", "apply"], check=True)

        feeds = prepare_media(settings)
        model = prepare_model(settings)
        base_version = None
        if settings.loop is not None:
            from actionstream.demo_loop import reset_production

            if (base_version := reset_production(kafka, model)) is None:
                raise typer.BadParameter("the monitoring loop promotes through the registry: serve a registry "
                                         "alias, or run with --no-drift", param_hint="--model")
            settings.loop.reset_state()
        skip_earlier_runs(kafka, settings.site)
        if settings.loop is not None:
            shifted_feed = camera_feed(settings, settings.loop.camera, settings.loop)
            settings.loop.prepare_base_check()
            typer.echo(f"monitoring loop: cam{settings.loop.camera}'s scene turns {settings.loop.looks()} "
                       f"{settings.loop.when()}; @{model} "
                       f"starts at version {base_version}")
        urls, truths, publishers = [], {}, []
        for index, feed in enumerate(feeds):
            publisher = FeedPublisher(rtsp_settings, f"{settings.site}/cam{index}", feed)
            origin = time.time()  # the loop starts now: the truth's time zero for this camera
            publisher.start()
            started.add(f"camera feed {publisher.url}", publisher)
            publishers.append(publisher)
            urls.append(publisher.url)
            truths[f"cam{index}"] = CameraTruth.from_timeline(timeline_path(feed), origin)
        write_cameras_file(settings, urls)
        TruthFile(settings.site, truths).write(settings.work_dir / "truth.json",
                                               {f"cam{index}": timeline_path(feed) for index, feed in enumerate(feeds)})

        monitoring = start_monitoring(settings.procfile, settings.metrics_port, started.add)
        since = time.time()
        processes = start_processes(settings, model)
        started.add("processes (honcho)", processes)
        until = " or until the loop has run" if settings.loop is not None and settings.seconds is None else ""
        typer.echo(f"running {settings.procfile} (model {model}) for {settings.run_seconds:g} s{until}; "
                   f"logs in {processes.honcho.log_file}")
        if (console := console_url(settings.procfile, settings.metrics_port)) is not None:
            typer.echo(f"console: {console}")
        start_cameras_when_ready(settings, processes, model)
        shift_at = None
        if settings.loop is not None:
            camera, looks = settings.loop.camera, settings.loop.looks()
            truth = truths[f"cam{camera}"]
            shift_at = settings.loop.switch_time(truth.origin, truth.duration_s, time.time())
            shifted = FeedPublisher(rtsp_settings, f"{settings.site}/cam{camera}", shifted_feed)
            switch = SceneSwitch(publishers[camera], shifted, shift_at,
                                 lambda: typer.echo(f"SCENE SHIFT   cam{camera}'s scene turns {looks} now"))
            switch.start()
            started.add(f"scene switch of cam{camera}", switch)
        events: list[ActionEvent] = []

        def show(event: ActionEvent) -> None:
            events.append(event)
            typer.echo(event_line(event, verdict_of(event, truths, since, settings.truth_min_share)))

        watcher = LoopWatcher(kafka, since, typer.echo, settings.loop) if settings.loop is not None else None
        with TopicReader(kafka, topic_name(Topic.ACTIONS, settings.site, kafka.topic_prefix), since) as reader:
            stream_events(reader, processes, settings.run_seconds, show, watcher,
                          settings.loop.after_update_windows if settings.loop is not None else 0, settings.keep_open,
                          f"cam{settings.loop.camera}" if settings.loop is not None else "")
        elapsed = time.time() - since
        counts = count_topics(kafka, since, topic_name(Topic.FRAMES, settings.site, kafka.topic_prefix),
                              topic_name(Topic.CLIPS, prefix=kafka.topic_prefix),
                              topic_name(Topic.DEADLETTER, prefix=kafka.topic_prefix),
                              topic_name(Topic.OUTCOMES, prefix=kafka.topic_prefix),
                              topic_name(Topic.INCIDENTS, settings.site, kafka.topic_prefix),
                              topic_name(Topic.LABELS, settings.site, kafka.topic_prefix))
        typer.echo("summary:")
        outcomes: list[WindowOutcome] = []
        shift: ShiftPhases | None = None
        if watcher is not None and base_version is not None and shift_at is not None:
            outcomes = read_outcomes(kafka, topic_name(Topic.OUTCOMES, prefix=kafka.topic_prefix), since)
            shift = shift_phases(settings, watcher, base_version, outcomes, shift_at)
        summary = summarize(events, truths, counts, since, elapsed, settings.truth_min_share,
                            settings.event_min_overlap_s, shift)
        typer.echo("\n".join(summary.lines()))
        typer.echo("\n".join(alert_lines(monitoring, since)))
        if watcher is not None and base_version is not None and shift_at is not None:
            typer.echo("\n".join(loop_summary(settings, watcher, truths, base_version, outcomes, since, shift_at)))
            watcher.close()
        typer.echo(summary.json_line())  # last, for scripts
        if settings.keep_open:
            wait_for_interrupt(processes, console)
    finally:
        started.stop_all()


def wait_for_interrupt(processes: _Processes, console: str | None) -> None:
    """--keep-open: hold the stack and the processes up until Ctrl-C (or until a process exits)."""
    typer.echo(f"the stack keeps running{f' (console: {console})' if console else ''}; Ctrl-C stops everything")
    # Ctrl-C and a plain `kill` both end the wait, so the caller stops what the demo started; set explicitly
    # because a demo started in the background inherits SIGINT ignored.
    previous = {stop: signal.signal(stop, signal.default_int_handler) for stop in (signal.SIGINT, signal.SIGTERM)}
    try:
        while processes.is_running():
            time.sleep(1.0)
        typer.echo(f"a process of the Procfile exited:\n{tail(processes.honcho.log_file, 20)}")
    except KeyboardInterrupt:
        typer.echo("stopping")
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


def demo(
    cameras: int = typer.Option(4, help="Synthetic RTSP cameras to stream."),
    seconds: float | None = typer.Option(None, help="How long the processes run (they need ~15 s to start); "
                                         "default 60 s, or with the drifting camera until the loop has run (at "
                                         "most 480 s)."),
    site: str = typer.Option("demo", help="Site name (topics frames.<site>, actions.<site>)."),
    model: str = typer.Option(DEFAULT_MODEL, help="Registry alias or bundle directory to serve; the default "
                              "alias is trained and promoted when missing."),
    metrics_port: int = typer.Option(9464, help="First Prometheus port; each Procfile process gets 100 more."),
    drift: bool = typer.Option(True, help="One camera's scene drifts mid-run and the monitoring loop retrains "
                               "and promotes a model for it (needs a registry alias as --model)."),
    keep_open: bool = typer.Option(False, "--keep-open", help="After the summary, leave the stack, the processes "
                                   "and the console running until Ctrl-C."),
    min_confidence: float | None = typer.Option(None, min=0.0, max=1.0, help="A window whose top action is "
                                                "less confident is idle (open-set rejection); default: the floor "
                                                "the model's training chose; 0 turns it off."),
) -> None:
    """Run the main job on embedded defaults and stop everything it started."""
    run_demo(DemoSettings(cameras=cameras, seconds=seconds, site=site, model=model, metrics_port=metrics_port,
                          loop=LoopSettings() if drift else None, keep_open=keep_open,
                          min_action_confidence=min_confidence))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
