"""`bench parity`: is the live stream as accurate as `actionstream evaluate` on the same clips?

The test split of a UCF101-layout set is streamed through the whole pipeline: file cameras (each test clip
once, clips spread over the cameras, separated by idle scene frames so that no window mixes two clips) ->
adapter -> selector worker (stages 1 and 2) -> classifier -> outcomes. Each clip is scored against the window
that overlaps it most, and compared with the offline prediction of the same model on the same clip
(`training.evaluate`, the SMART selector): agreement is the share of clips where both say the same, and both
accuracies are against the clip's class. A skew between training and serving (JPEG round trip, resize path,
candidate timing, window alignment, selection) shows as agreement below 1. The second comparison runs the
offline model on exactly the frames that window held (its scored frames' JPEGs, encoded and selected afresh):
`window_agreement` below 1 is a skew inside the stream's own computation, the rest comes from the frames.

Each clip starts on the window grid (`bench/parity_feed.py`), so its window holds exactly its frames. The same
stream is also scored at event level (`actionstream/event_scoring.py`): each clip's action burst is a true
action, each action outcome an event, under the classifier's open-set floor (the one the model's training chose,
stored in its bundle, unless `--min-confidence` sets one) and, after the fact, under each floor of
`training/rejection.py` (an outcome made idle by the floor keeps its label and confidence).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import yaml

from actionstream.event_scoring import EventScore, TrueAction, score_events
from actionstream.readiness import Endpoint, wait_until_ready
from bench.parity_feed import ClipSpan, ParityClip, clip_burst, write_parity_feed
from infra.process import ManagedProcess, tail
from processors.settings import Stage2Settings
from streams.reader import TopicReader
from streams.records import ScoredFrame
from streams.schemas import FrameHeaders, WindowOutcome
from streams.settings import KafkaSettings
from streams.topics import Topic, ensure_topics, topic_name

if TYPE_CHECKING:
    from models.runtime import SmartRuntime

SITE = "parity"


@dataclass(frozen=True)
class ParitySettings:
    data: Path = Path("var/data/synthetic")
    subset: Literal["test", "train"] = "test"  # train: a validation stream for choosing the floor
    model: str = "production"
    cameras: int = 3  # clips spread over them: the run lasts about clips * (clip + gap) / cameras seconds
    gap_s: float = 4.0  # idle scene between clips: one window length, so no window holds two clips
    # Clips start on stage 2's window grid (every hop), so one window holds exactly one clip.
    grid_s: float = Stage2Settings.model_fields["hop_s"].default
    min_action_confidence: float | None = None  # the classifier's open-set floor (None: the bundle's; 0: off)
    # Off: a selector that falls behind on a loaded machine would classify fewer frames per window, a skew of
    # load, not of the model (bench pipeline measures shedding).
    shedding: bool = False
    event_min_overlap_s: float = 0.25  # an event reports a true action when its window overlaps it this long
    sample_fps: float = 8.0
    ready_timeout_s: float = 180.0
    drain_s: float = 600.0  # after the feeds end: longest wait for the last clips' windows (a loaded selector lags)
    settle_s: float = 15.0  # then until no outcome came for this long (longer than stage 2's idle close, 10 s)
    bootstrap_servers: str = "127.0.0.1:9092"
    tracking_uri: str = "sqlite:///var/mlflow/mlflow.db"
    cache_dir: Path = Path("var/features")
    work_dir: Path = Path("var/bench/parity")
    seed: int = 0  # of the idle scenes


@dataclass(frozen=True)
class ParityResult:
    clips: int
    agreement: float
    stream_accuracy: float
    offline_accuracy: float
    unmatched: int  # clips no window overlapped (counted as disagreement and error)
    disagreements: list[str] = field(default_factory=list)  # "video: offline X, stream Y"
    window_agreement: float | None = None  # stream vs offline on exactly the window's frames
    events: EventScore | None = None  # event level on the same stream, under `floor`
    floor: float | None = None  # the open-set floor the stream ran with
    events_by_floor: dict[str, tuple[float | None, float | None]] | None = None  # floor -> (recall, precision)
    shed_windows: int = 0  # windows the stream classified on fewer frames because it was behind

    def json_line(self) -> str:
        line = {"bench": "parity", "clips": self.clips, "agreement": round(self.agreement, 4),
                "stream_accuracy": round(self.stream_accuracy, 4),
                "offline_accuracy": round(self.offline_accuracy, 4), "unmatched": self.unmatched,
                "window_agreement": None if self.window_agreement is None else round(self.window_agreement, 4),
                "shed_windows": self.shed_windows}
        if self.floor is not None:
            line["floor"] = self.floor
        if self.events is not None:
            line |= {"recall": _rounded(self.events.recall), "precision": _rounded(self.events.precision),
                     "true_actions": self.events.actions, "reported_actions": self.events.reported,
                     "true_events": self.events.true_events, "false_events": self.events.false_events,
                     "unclear_events": self.events.unclear_events}
        if self.events_by_floor is not None:
            line["events_by_floor"] = self.events_by_floor
        return json.dumps(line)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def best_window(span: ClipSpan, windows: dict[str, list[WindowOutcome]], origin: float) -> WindowOutcome | None:
    """The window of the clip's camera that overlaps the clip most, None when none overlaps it."""
    start, end = origin + span.start_s, origin + span.end_s
    overlaps = [(min(end, window.window_end) - max(start, window.window_start), window)
                for window in windows.get(span.camera, [])]
    overlap, best = max(overlaps, key=lambda pair: pair[0], default=(0.0, None))
    return best if overlap > 0 else None


def score_parity(spans: list[ClipSpan], windows: dict[str, list[WindowOutcome]], origins: dict[str, float],
                 window_offline: dict[str, str] | None = None) -> ParityResult:
    """Each clip against the window of its camera that overlaps it most (capture time = origin + feed time);
    `window_offline` holds the offline label on exactly a window's frames, by window id."""
    agree = correct = unmatched = window_agree = 0
    disagreements = []
    for span in spans:
        best = best_window(span, windows, origins[span.camera])
        stream = best.label if best is not None else None
        unmatched += stream is None
        if best is not None and window_offline is not None:
            window_agree += window_offline.get(best.event_id) == stream
        agree += stream == span.offline
        correct += stream == span.label
        if stream != span.offline:
            disagreements.append(f"{span.video_id}: offline {span.offline}, stream {stream}")
    offline_correct = sum(span.offline == span.label for span in spans)
    count = max(len(spans), 1)
    return ParityResult(len(spans), agree / count, correct / count, offline_correct / count, unmatched, disagreements,
                        None if window_offline is None else window_agree / count)


def score_parity_events(spans: list[ClipSpan], windows: dict[str, list[WindowOutcome]], origins: dict[str, float],
                        min_overlap_s: float, floor: float = 0.0) -> EventScore:
    """Event level on the parity stream: each clip's burst a true action, each window whose top class is an
    action at least as confident as `floor` an event (what the classifier reports under that floor; an outcome
    made idle by a floor keeps its label and confidence, so any floor can be scored after the fact)."""
    from processors.settings import ClassifierSettings

    idle_labels = ClassifierSettings().idle_labels
    actions = [TrueAction(span.camera, span.label, origins[span.camera] + span.burst_s[0],
                          origins[span.camera] + span.burst_s[1]) for span in spans if span.burst_s is not None]
    events = [outcome.action_event() for camera_windows in windows.values() for outcome in camera_windows
              if outcome.label not in idle_labels and outcome.confidence >= floor]
    return score_events(events, sorted(actions, key=lambda action: action.start), min_overlap_s)


def events_by_floor(spans: list[ClipSpan], windows: dict[str, list[WindowOutcome]], origins: dict[str, float],
                    min_overlap_s: float) -> dict[str, tuple[float | None, float | None]]:
    """(recall, precision) of the same stream under each floor of `bench rejection`: what a floor would do
    here, shown beside the choice made on validation clips (never made from these test clips)."""
    from training.rejection import FLOORS

    scores = {floor: score_parity_events(spans, windows, origins, min_overlap_s, floor) for floor in FLOORS}
    return {f"{floor:.2f}": (_rounded(score.recall), _rounded(score.precision)) for floor, score in scores.items()}


def offline_on_window_frames(runtime: SmartRuntime, frames: list[ScoredFrame]) -> str:
    """The model's label for one window computed offline on its candidate frames' JPEGs: fp32 encoder, SMART
    selection and classifier, as `actionstream evaluate` runs them."""
    from streams.codec import decode_jpeg

    images = np.stack([decode_jpeg(frame.jpeg) for frame in sorted(frames, key=lambda frame: frame.capture_time)])
    representation = runtime.encode(images)
    selected = runtime.select(representation)
    return runtime.classes[int(np.argmax(runtime.classify(representation[selected])))]


def offline_predictions(settings: ParitySettings, bundle_dir: Path) -> list[ParityClip]:
    """Each test clip with its offline prediction, as `actionstream evaluate` scores it, and its burst."""
    from models.bundle import ModelBundle
    from training.evaluate import build_scorer, evaluate_strategy, extract_evaluation_features
    from training.smart_settings import FeatureSettings
    from training.ucf101 import Ucf101Index

    bundle = ModelBundle.load(bundle_dir)
    index = Ucf101Index.from_folder(settings.data)
    items = index.test if settings.subset == "test" else index.train
    features = FeatureSettings(num_candidates=bundle.manifest.num_candidates,
                               top_k_names=bundle.manifest.architecture.top_k_names, cache_dir=settings.cache_dir)
    data = extract_evaluation_features(bundle_dir, bundle, items, features, progress=sys.stderr.isatty())
    scorer = build_scorer(bundle, items, features.num_candidates)
    result = evaluate_strategy("smart", bundle, scorer, data, bundle.manifest.num_frames, len(bundle.classes))
    return [ParityClip(item.path, item.video_id, item.class_name, bundle.classes[int(prediction)],
                       clip_burst(settings.data, item))
            for item, prediction in zip(items, result.predictions, strict=True)]


class ParityBench:
    def __init__(self, settings: ParitySettings, bundle_dir: Path) -> None:
        self.settings = settings
        self.bundle_dir = bundle_dir
        settings.work_dir.mkdir(parents=True, exist_ok=True)
        self.kafka = KafkaSettings(bootstrap_servers=settings.bootstrap_servers,
                                   topic_prefix=f"parity{uuid.uuid4().hex[:6]}.")

    def _env(self, metrics_port: int) -> dict[str, str]:
        return {"ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
                "ACTIONSTREAM_KAFKA__TOPIC_PREFIX": self.kafka.topic_prefix, "ACTIONSTREAM_SITES": f'["{SITE}"]',
                "ACTIONSTREAM_MODEL__REFERENCE": str(self.bundle_dir), "ACTIONSTREAM_MODEL__FOLLOW_UPDATES": "false",
                "ACTIONSTREAM_METRICS_PORT": str(metrics_port),
                "ACTIONSTREAM_SHEDDING__ENABLED": str(self.settings.shedding).lower(),
                "ACTIONSTREAM_STATE_DIR": str(self.settings.work_dir / "state" / self.kafka.topic_prefix),
                **({"ACTIONSTREAM_CLASSIFIER__MIN_ACTION_CONFIDENCE": str(self.settings.min_action_confidence)}
                   if self.settings.min_action_confidence is not None else {})}

    def _start(self, name: str, args: list[str], metrics_port: int) -> ManagedProcess:
        process = ManagedProcess(name, self.settings.work_dir / "logs")
        process.start([sys.executable, "-m", "actionstream", *args, *(
            ["--metrics-port", str(metrics_port)] if name != "cameras" else [])], env=self._env(metrics_port))
        return process

    def run(self, spans: list[ClipSpan], feeds: dict[str, Path]) -> ParityResult:
        from bench.soak import free_port

        settings = self.settings
        ensure_topics(self.kafka, [SITE])
        ports = {name: free_port() for name in ("selector", "classifier", "cameras")}
        processes = [self._start(name, ["selector" if name == "selector" else "classifier", "run"], ports[name])
                     for name in ("selector", "classifier")]
        try:
            wait_until_ready([Endpoint(name, f"127.0.0.1:{ports[name]}") for name in ("selector", "classifier")],
                             settings.ready_timeout_s, lambda: all(process.is_running() for process in processes))
            config = settings.work_dir / f"cameras-{self.kafka.topic_prefix}yaml"
            config.write_text(yaml.safe_dump({"site": SITE, "cameras": [
                {"id": camera, "kind": "file", "url": str(path.resolve()), "realtime": True, "loop": False,
                 "sample_fps": settings.sample_fps, "start_grid_s": settings.grid_s}
                for camera, path in feeds.items()]}))
            feed_s = max(span.end_s for span in spans) + settings.gap_s
            adapter = self._start("cameras", ["cameras", "run", "--config", str(config), "--seconds",
                                              f"{feed_s + 5:.0f}"], ports["cameras"])
            while adapter.is_running():
                time.sleep(1.0)
            origins = self._origins()
            windows = self._drain(processes, {camera: origins[camera] + max(span.end_s for span in spans
                                                                            if span.camera == camera)
                                              for camera in feeds})
        finally:
            for process in processes:
                process.stop()
        result = score_parity(spans, windows, origins, self._window_offline(spans, windows, origins))
        overlap = settings.event_min_overlap_s
        floor = self._floor()
        return replace(result, events=score_parity_events(spans, windows, origins, overlap, floor), floor=floor,
                       shed_windows=sum(outcome.shed for found in windows.values() for outcome in found),
                       events_by_floor=events_by_floor(spans, windows, origins, overlap))

    def _floor(self) -> float:
        """The floor the classifier ran with: the setting, else the one stored in the served bundle."""
        if self.settings.min_action_confidence is not None:
            return self.settings.min_action_confidence
        from models.bundle import MANIFEST_FILE, Manifest

        return Manifest.model_validate_json((self.bundle_dir / MANIFEST_FILE).read_text()).min_action_confidence

    def _window_offline(self, spans: list[ClipSpan], windows: dict[str, list[WindowOutcome]],
                        origins: dict[str, float]) -> dict[str, str]:
        """The offline label on exactly the frames each clip's best window held (from scored-frames)."""
        scored: dict[str, list[ScoredFrame]] = {}
        topic = topic_name(Topic.SCORED_FRAMES, prefix=self.kafka.topic_prefix)
        with TopicReader(self.kafka, topic, 0.0) as reader:
            for message in reader.drain():
                frame = ScoredFrame.from_bytes(message.value())
                scored.setdefault(frame.camera, []).append(frame)
        from models.runtime import SmartRuntime

        runtime = SmartRuntime.from_directory(self.bundle_dir)
        labels = {}
        for span in spans:
            if (window := best_window(span, windows, origins[span.camera])) is None:
                continue
            held = [frame for frame in scored.get(span.camera, [])
                    if window.window_start <= frame.capture_time < window.window_end]
            if held:
                labels[window.event_id] = offline_on_window_frames(runtime, held)
        return labels

    def _outcomes(self) -> dict[str, list[WindowOutcome]]:
        windows: dict[str, list[WindowOutcome]] = {}
        with TopicReader(self.kafka, topic_name(Topic.OUTCOMES, prefix=self.kafka.topic_prefix), 0.0) as reader:
            for message in reader.drain():
                outcome = WindowOutcome.model_validate_json(message.value() or b"")
                windows.setdefault(outcome.camera, []).append(outcome)
        return windows

    def _drain(self, processes: list[ManagedProcess], last_clip_ends: dict[str, float]
               ) -> dict[str, list[WindowOutcome]]:
        """Wait until each camera has the window of its last clip (capture time `last_clip_ends`), then until the
        outcomes stop growing: the trailing idle windows close after stage 2's idle close."""
        settings = self.settings
        deadline, seen, still_since = time.monotonic() + settings.drain_s, -1, time.monotonic()
        while True:
            for process in processes:
                if not process.is_running():
                    raise RuntimeError(f"{process.name} exited:\n{tail(process.log_file, 30)}")
            windows = self._outcomes()
            count = sum(len(found) for found in windows.values())
            if count != seen:
                seen, still_since = count, time.monotonic()
            last_clips_in = all(any(window.window_end >= end - 1e-3 for window in windows.get(camera, []))
                                for camera, end in last_clip_ends.items())
            if (last_clips_in and time.monotonic() - still_since > settings.settle_s) or time.monotonic() > deadline:
                return windows
            time.sleep(2.0)

    def _origins(self) -> dict[str, float]:
        """Capture time of each camera's first frame: feed time 0 (a paced file's anchor stays put)."""
        origins: dict[str, float] = {}
        with TopicReader(self.kafka, topic_name(Topic.FRAMES, SITE, self.kafka.topic_prefix), 0.0) as reader:
            for message in reader.drain():
                headers = FrameHeaders.from_headers(message.headers())
                origins[headers.camera] = min(origins.get(headers.camera, headers.capture_time), headers.capture_time)
        return origins


def run_parity(settings: ParitySettings, bundle_dir: Path) -> ParityResult:
    clips = offline_predictions(settings, bundle_dir)
    spans: list[ClipSpan] = []
    feeds: dict[str, Path] = {}
    for index in range(settings.cameras):
        camera = f"cam{index}"
        mine = clips[index::settings.cameras]
        if mine:
            feeds[camera] = settings.work_dir / "feeds" / f"{camera}.mp4"
            spans += write_parity_feed(mine, camera, feeds[camera], settings.gap_s, settings.grid_s,
                                       settings.seed + index)
    return ParityBench(settings, bundle_dir).run(spans, feeds)
