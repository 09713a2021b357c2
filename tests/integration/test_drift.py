"""The drift job against the real broker: synthetic scored frames and outcomes (no cameras), short windows."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka import Producer
from prometheus_client import REGISTRY

from processors.drift.calibration import Calibration
from processors.drift.job import DriftJob
from processors.drift.job_settings import DriftJobOptions, DriftJobSettings
from processors.drift.profile import ReferenceProfile
from processors.drift.references import ModelReference
from processors.drift.sample import WindowSample
from processors.drift.settings import DriftSettings, EmbeddingDriftSettings, ReportSettings
from streams.deadletter import reason_of
from streams.schemas import DriftReport, Label, LabelScore, WindowOutcome
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all
from tests.support.features import make_outcome, make_scored_frame
from tests.unit.processors.drift.conftest import CLASSES, Shift, make_window

pytestmark = pytest.mark.integration

MODEL = "m/1"  # make_outcome's model version
WINDOW_S, FRAMES_PER_WINDOW, OUTCOME_S = 10.0, 120, 0.25
BASE = 1_000_000.0  # event time of the first window


class FixedCatalog:
    """One model with a training profile built from unshifted synthetic windows."""

    def __init__(self, settings: DriftSettings) -> None:
        rng = np.random.default_rng(7)
        data = WindowSample.concat([make_window(rng) for _ in range(3)])
        calibration = Calibration(temperature=1.0, num_classes=len(CLASSES), samples=300, accuracy=0.75,
                                  nll_before=0.8, nll_after=0.8)
        self.model = ModelReference(MODEL, CLASSES, ReferenceProfile.build("training", MODEL, data, settings,
                                                                           calibration))

    def reference(self, version: str | None) -> ModelReference:
        return self.model


def job_settings(streams: StreamsSettings, tmp_path: Path) -> DriftJobSettings:
    return DriftJobSettings(
        kafka=streams.kafka, sites=[SITE], metrics_port=0,
        # Strict thresholds: the shift is far beyond them, while at the defaults the detector's designed false
        # alarms (a few % of windows, measured by `bench drift`) would make 35 control windows a lottery.
        drift=DriftSettings(window_s=WINDOW_S, p_value_threshold=1e-6,
                            embedding=EmbeddingDriftSettings(permutations=2000, alpha=0.001)),
        reports=ReportSettings(reports_dir=tmp_path / "reports", workspace_dir=None),
        job=DriftJobOptions(lateness_s=1.0, commit_s=0.5, poll_s=0.1, baseline_windows=1, baseline_outcomes=80,
                            state_dir=tmp_path / "drift"),
    )


class JobRunner:
    """The job on a thread; `stop` ends it cleanly (its last commit and flush included)."""

    def __init__(self, settings: DriftJobSettings) -> None:
        self.job = DriftJob(settings, FixedCatalog(settings.drift))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.job.run, args=(self._stop,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60.0)
        assert not self._thread.is_alive()


@pytest.fixture
def runner(streams_settings: StreamsSettings, tmp_path: Path) -> Iterator[JobRunner]:
    runner = JobRunner(job_settings(streams_settings, tmp_path))
    yield runner
    runner.stop()


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def outcome_of(camera: str, start: float, label: str, top_k: np.ndarray) -> WindowOutcome:
    scores = [LabelScore(label=label, confidence=float(top_k[0]))]
    scores += [LabelScore(label=other, confidence=float(value))
               for other, value in zip([name for name in CLASSES if name != label], top_k[1:], strict=False)]
    return make_outcome(SITE, camera, start, label=label, confidence=float(top_k[0]), window_s=OUTCOME_S
                        ).model_copy(update={"top_k": scores})


def produce_window(producer: Producer, streams: StreamsSettings, rng: np.random.Generator, camera: str, index: int,
                   shift: Shift = "none") -> list[WindowOutcome]:
    """One drift window of a camera: its frames, then the outcomes of the selection windows starting in it."""
    start = BASE + index * WINDOW_S
    starts = np.arange(start, start + WINDOW_S, OUTCOME_S)
    sample = make_window(rng, shift, frames=FRAMES_PER_WINDOW, outcomes=len(starts))
    prefix = streams.kafka.topic_prefix
    for row in range(sample.frames):
        frame = make_scored_frame(SITE, camera, start + row * WINDOW_S / FRAMES_PER_WINDOW, seq=row, jpeg=b"",
                                  brightness=float(sample.quality["brightness"][row]),
                                  sharpness=float(sample.quality["sharpness"][row]),
                                  delta=float(sample.quality["delta"][row]),
                                  features=sample.embeddings[row].astype(np.float16),
                                  model_version=MODEL)  # one model scored and classified the window
        producer.produce(topic_name(Topic.SCORED_FRAMES, prefix=prefix), frame.to_bytes(), frame.key())
    outcomes = [outcome_of(camera, float(begin), label, top_k)
                for begin, label, top_k in zip(starts, sample.labels, sample.top_k, strict=True)]
    for outcome in outcomes:
        producer.produce(topic_name(Topic.OUTCOMES, prefix=prefix), outcome.to_json_bytes(), outcome.key())
    producer.flush(30.0)
    return outcomes


def reports_of(streams: StreamsSettings) -> list[DriftReport]:
    topic = topic_name(Topic.DRIFT_REPORTS, prefix=streams.kafka.topic_prefix)
    return [DriftReport.model_validate_json(message.value() or b"") for message in consume_all(streams, topic)]


def test_drift_is_raised_on_the_shifted_camera_only(streams_settings: StreamsSettings, tmp_path: Path,
                                                     runner: JobRunner) -> None:
    job = runner.job
    producer = Producer(streams_settings.kafka.client_config())
    rng = np.random.default_rng(11)
    cameras = {"cam-0": "none", "cam-1": "none", "cam-2": "brightness"}
    for index in range(5):  # windows 0 and 1 make the baselines; cam-2's scene brightens from window 3
        for camera, shift in cameras.items():
            produce_window(producer, streams_settings, rng, camera, index, shift if index >= 3 else "none")
    for camera in cameras:  # event time moves on: windows 0-4 close
        produce_window(producer, streams_settings, rng, camera, 6)
    wait_until(lambda: job.stats.windows >= 5 * 4, "5 windows of 3 cameras and of the site")
    runner.stop()

    reports = reports_of(streams_settings)
    verdicts = {(report.camera, report.reference_kind, round(report.window_start - BASE)): report.verdict
                for report in reports}
    for camera, shift in cameras.items():
        for index in range(5):
            for kind in ["training"] + (["camera"] if index >= 2 else []):
                expected = "drift" if shift != "none" and index >= 3 else "ok"
                assert verdicts[(camera, kind, index * 10)] == expected, (camera, kind, index)
    assert {key[0] for key in verdicts} == {*cameras, "*"}
    drifted = [report for report in reports if report.camera == "cam-2" and report.verdict == "drift"]
    assert all("brightness" in report.drifted_columns and report.estimated_accuracy is not None
               for report in drifted)
    assert REGISTRY.get_sample_value("actionstream_drift_verdict", {
        "site": SITE, "camera": "cam-2", "reference_kind": "camera"}) == 1.0
    assert REGISTRY.get_sample_value("actionstream_drift_verdict", {
        "site": SITE, "camera": "cam-0", "reference_kind": "camera"}) == 0.0
    # Two drifted windows are not yet the default policy's 3 of 5: no DriftRaised alert for cam-2 so far.
    assert REGISTRY.get_sample_value("actionstream_drift_alert", {"site": SITE, "camera": "cam-2"}) == 0.0
    # The report carries the same verdict as the gauge: no cause persists; reports the policy does not act on
    # (against the training profile) carry none.
    assert all(report.alert_causes == [] for report in reports if report.reference_kind == "camera")
    assert all(report.alert_causes is None for report in reports if report.reference_kind == "training")
    # The report thread renders on after the job's shutdown wait when the machine is slow.
    wait_until(lambda: any(path.name.startswith(f"{SITE}_cam-2_camera_")
                           for path in (tmp_path / "reports").glob("*.html")), "cam-2's HTML report", 180.0)


def test_labels_joined_to_windows_give_the_observed_accuracy(streams_settings: StreamsSettings, tmp_path: Path,
                                                             runner: JobRunner) -> None:
    job = runner.job
    producer = Producer(streams_settings.kafka.client_config())
    rng = np.random.default_rng(12)
    outcomes = [outcome for index in range(3) for outcome in produce_window(producer, streams_settings, rng, "cam-0",
                                                                            index)]
    wait_until(lambda: job.stats.outcomes == len(outcomes), "the outcomes")
    # Every outcome labelled, the first four wrongly: accuracy (n - 4) / n.
    labels = [Label(event_id=outcome.event_id, source="test",
                    label=next(name for name in CLASSES if name != outcome.label) if row < 4 else outcome.label)
              for row, outcome in enumerate(outcomes)]
    for label in labels:
        producer.produce(topic_name(Topic.LABELS, SITE, streams_settings.kafka.topic_prefix), label.to_json_bytes(),
                         label.key())
    producer.flush(30.0)
    wait_until(lambda: job.stats.labels == len(labels), "the labels")
    produce_window(producer, streams_settings, rng, "cam-0", 5)
    wait_until(lambda: job.stats.windows >= 2 * 3, "the windows of the camera and the site")
    runner.stop()

    last = max((report for report in reports_of(streams_settings) if report.camera == "cam-0"),
               key=lambda report: (report.window_start, report.reference_kind))
    assert last.labels == len(labels)
    assert last.observed_accuracy == pytest.approx((len(labels) - 4) / len(labels))
    assert last.observed_macro_f1 is not None and last.estimated_accuracy is not None
    assert REGISTRY.get_sample_value("actionstream_drift_accuracy", {
        "site": SITE, "camera": "cam-0", "kind": "observed"}) == pytest.approx(last.observed_accuracy)


def test_malformed_labels_and_drift_inputs_go_to_the_dead_letter_topic(
        streams_settings: StreamsSettings, runner: JobRunner) -> None:
    job = runner.job
    producer = Producer(streams_settings.kafka.client_config())
    prefix = streams_settings.kafka.topic_prefix
    frames, outcomes = topic_name(Topic.SCORED_FRAMES, prefix=prefix), topic_name(Topic.OUTCOMES, prefix=prefix)
    labels = topic_name(Topic.LABELS, SITE, prefix)
    nan = float("nan")
    bad: list[tuple[str, bytes]] = []
    for row in range(80):
        bad.append((labels, b"{not json" if row % 2 else b'{"schema": 1, "event_id": ""}'))
        bad.append((labels, Label(event_id=f"no-such-window-{row}", label="wave", source="t").to_json_bytes()))
        bad.append((frames, make_scored_frame(SITE, "cam-0", BASE + row, jpeg=b"", brightness=nan).to_bytes()))
        bad.append((frames, make_scored_frame(SITE, "cam-0", BASE + row, jpeg=b"",
                                              features=np.full(96, np.inf, dtype=np.float16)).to_bytes()))
        bad.append((frames, make_scored_frame("elsewhere", "cam-9", BASE + row, jpeg=b"",
                                              features=np.zeros(96, dtype=np.float16)).to_bytes()))
    for row in range(50):
        empty = make_outcome(SITE, "cam-0", BASE + 4 * row).model_copy(update={"top_k": []})
        bad.append((outcomes, empty.to_json_bytes()))
        bad.append((outcomes, b"\x00\x01 not an outcome"))
    assert len(bad) == 500
    for topic, value in bad:
        producer.produce(topic, value, b"site-t/cam-0")
    producer.flush(30.0)
    wait_until(lambda: job.stats.deadletters == 500, "500 dead letters")
    # Still working: a good window after the bad records is assessed.
    rng = np.random.default_rng(13)
    for index in (0, 2):
        produce_window(producer, streams_settings, rng, "cam-1", index)
    wait_until(lambda: job.stats.windows >= 2, "a good window after the bad records")
    runner.stop()

    letters = consume_all(streams_settings, topic_name(Topic.DEADLETTER, prefix=prefix))
    assert len(letters) == 500
    reasons = [reason_of(letter.headers()) for letter in letters]
    assert {reason["stage"] for reason in reasons} == {"drift"}
    text = " | ".join(reason["reason"] for reason in reasons)
    for expected in ("malformed label", "unknown event id", "non-finite brightness", "non-finite features",
                     "unknown camera elsewhere/cam-9", "empty window", "invalid outcome"):
        assert expected in text, expected
