"""The wire contract: headers of frame records and the JSON events that leave the platform.

Additive changes only; a breaking change gets a new schema version. Golden messages in
tests/unit/streams/test_schemas.py pin each version, and `actionstream schemas export` publishes JSON Schema.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

FRAME_SCHEMA_VERSION = 1


class InvalidMessage(ValueError):
    """A record that does not follow the wire contract; it goes to the dead-letter topic with this reason."""


Headers = list[tuple[str, bytes]]
RawHeaders = list[tuple[str, bytes | None]]  # as consumers see them: Kafka allows a header without value
T = TypeVar("T")


@dataclass(frozen=True)
class FrameHeaders:
    """Metadata of one frame record (the value is the encoded image)."""

    site: str
    camera: str
    seq: int  # sampling slot index: consecutive frames differ by 1, a larger step is a gap
    capture_time: float  # epoch seconds when the frame was captured (stream anchor + presentation time)
    ingest_time: float  # epoch seconds when the adapter published it
    width: int
    height: int
    encoding: str = "jpeg"
    schema: int = FRAME_SCHEMA_VERSION

    def to_headers(self) -> Headers:
        return [
            ("schema", str(self.schema).encode()),
            ("site", self.site.encode()),
            ("camera", self.camera.encode()),
            ("seq", str(self.seq).encode()),
            ("capture_time", f"{self.capture_time:.6f}".encode()),
            ("ingest_time", f"{self.ingest_time:.6f}".encode()),
            ("width", str(self.width).encode()),
            ("height", str(self.height).encode()),
            ("encoding", self.encoding.encode()),
        ]

    @classmethod
    def from_headers(cls, headers: RawHeaders | None) -> FrameHeaders:
        values = dict(headers or [])
        # Kafka allows a header name twice; which value counts would depend on the reader, so neither does.
        if len(values) != len(headers or []):
            names = [name for name, _ in headers or []]
            repeated = sorted({name for name in names if names.count(name) > 1})
            raise InvalidMessage(f"duplicated frame headers: {', '.join(repeated)}")
        schema = _header(values, "schema", int)
        if schema != FRAME_SCHEMA_VERSION:
            raise InvalidMessage(f"unsupported frame schema version {schema}")
        return cls(
            site=_header(values, "site", bytes.decode),
            camera=_header(values, "camera", bytes.decode),
            seq=_header(values, "seq", int),
            capture_time=_header(values, "capture_time", _finite_time),
            ingest_time=_header(values, "ingest_time", _finite_time),
            width=_header(values, "width", _dimension),
            height=_header(values, "height", _dimension),
            encoding=_header(values, "encoding", bytes.decode),
            schema=schema,
        )


def _finite_time(raw: bytes) -> float:
    seconds = float(raw)
    if not math.isfinite(seconds):
        raise ValueError(f"not a finite time: {seconds}")
    return seconds


def _dimension(raw: bytes) -> int:
    pixels = int(raw)
    if pixels <= 0:
        raise ValueError(f"not a positive size: {pixels}")
    return pixels


def _header(values: dict[str, bytes | None], name: str, parse: Callable[[bytes], T]) -> T:
    """One header parsed, or InvalidMessage naming the header and what is wrong with it."""
    if name not in values:
        raise InvalidMessage(f"frame header {name!r} is missing")
    raw = values[name]
    if raw is None:
        raise InvalidMessage(f"malformed frame header {name!r}: no value")
    try:
        return parse(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidMessage(f"malformed frame header {name!r}: {str(error)[:200]}") from None


class Event(BaseModel):
    """Base of the JSON events that leave the platform."""

    # populate_by_name + by_alias: the field `schema_version` travels as "schema" (BaseModel owns `schema`).
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


E = TypeVar("E", bound=BaseModel)


def parse_event(kind: type[E], value: bytes | None) -> E:
    """A JSON event decoded and validated (schema version included), or InvalidMessage naming the first
    problem; the record's content stays out of the reason (it may be huge or hold what it should not)."""
    try:
        return kind.model_validate_json(value or b"")
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        what = re.sub(r"(?<!^)(?=[A-Z])", " ", kind.__name__).lower()
        raise InvalidMessage(f"malformed {what}: {where + ': ' if where else ''}{first['msg']}") from None


CameraState = Literal["up", "down", "reconnecting"]


class CameraStatus(Event):
    """Latest state of a camera, on the compacted camera-status.<site> topic (key: site/camera)."""

    schema_version: Literal[1] = Field(1, alias="schema")
    site: str
    camera: str
    state: CameraState
    reason: str = Field(description="Why the camera is in this state, in words an operator can act on.")
    at: float = Field(default_factory=time.time, description="Epoch seconds of the transition.")
    frames_published: int = 0
    reconnects: int = 0
    gaps: int = Field(0, description="Frames known to be lost so far (sampling slots with no frame).")

    def key(self) -> bytes:
        return f"{self.site}/{self.camera}".encode()


class LabelScore(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    confidence: float = Field(ge=0.0, le=1.0)


class SelectedFrame(BaseModel):
    """A frame the classifier saw: when it was captured and where its original record lies in Kafka."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int
    capture_time: float
    score: float = Field(description="SMART score s_i = delta_i * gamma_i that selected it.")
    topic: str
    partition: int
    offset: int


class HopLatency(BaseModel):
    """Seconds spent at each hop; `processing` is action publish - window end, `end_to_end` is action
    publish - capture of the window's last selected frame."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ingest: float = Field(description="Adapter publish - capture, last selected frame.")
    score: float = Field(description="Stage-1 publish - adapter publish, last selected frame.")
    select: float = Field(description="Clip publish - window end.")
    classify: float = Field(description="Action publish - clip publish.")
    processing: float
    end_to_end: float


class _WindowResult(Event):
    """What the classifier made of one window of one camera: the fields shared by outcomes and action events."""

    schema_version: Literal[1] = Field(1, alias="schema")
    event_id: str = Field(description="The window id: deterministic per site, camera and window start (the same "
                          "for a window replayed by another selector or model version); labels join on it.")
    site: str
    camera: str
    window_start: float
    window_end: float
    label: str
    confidence: float = Field(ge=0.0, le=1.0)
    top_k: list[LabelScore]
    frames: list[SelectedFrame] = Field(description="Selected frames in time order.")
    candidates: int = Field(description="Frames the window held (T).")
    budget: int = Field(description="Frames per window the settings ask for (n).")
    shed: bool = Field(description="Fewer than `budget` frames were classified because the pipeline was behind.")
    incomplete: bool = Field(description="The window spans a camera gap.")
    selector_version: str
    model_version: str
    published_at: float
    latency: HopLatency

    def key(self) -> bytes:
        return f"{self.site}/{self.camera}".encode()


class ActionEvent(_WindowResult):
    """The action recognised in one window of one camera, on `actions.<site>` (key: site/camera). Only windows
    with an action; every window's result, idle included, is on `outcomes`."""


class ShadowOutcome(Event):
    """What a candidate model in shadow made of a window that production classified, on `shadow-outcomes` (key:
    site/camera); never an action event. Written in the same transaction as production's outcome, beside it."""

    schema_version: Literal[1] = Field(1, alias="schema")
    event_id: str = Field(description="The window id (labels join on it), as on `outcomes`.")
    site: str
    camera: str
    window_start: float
    window_end: float
    model_version: str = Field(description="The shadow model, '<registered model>/<version>'.")
    label: str
    top_k: list[LabelScore]
    production_version: str
    production_label: str
    production_top_k: list[LabelScore]
    published_at: float = Field(default_factory=time.time)

    def key(self) -> bytes:
        return f"{self.site}/{self.camera}".encode()


WindowKind = Literal["action", "idle"]


class WindowOutcome(_WindowResult):
    """Every window's result, action or idle, on `outcomes` (key: site/camera). Written in the same transaction
    as the window's action event, so exactly one outcome per window is checkable downstream."""
    outcome: WindowKind = Field(description="action: an action event was published for this window; idle: the "
                                "model saw no action (its top label is an idle class).")

    def action_event(self) -> ActionEvent:
        return ActionEvent.model_validate(self.model_dump(exclude={"schema_version", "outcome"}))


IncidentPhase = Literal["start", "update", "end"]


class Incident(Event):
    """One action on one camera from its first window to its last, on `incidents.<site>` (key: site/camera).

    Consecutive windows with the same action make one incident: a `start` record, `update` records while it
    lasts (at most one per update interval) and an `end` record. (incident_id, sequence) is unique: a consumer
    can drop a record it has seen."""

    schema_version: Literal[1] = Field(1, alias="schema")
    incident_id: str = Field(description="Deterministic per site, camera and the start of its first window.")
    sequence: int = Field(ge=0, description="0 for the start record, then 1, 2, ... for each later record.")
    phase: IncidentPhase
    site: str
    camera: str
    label: str
    start: float = Field(description="Start of the incident's first window (epoch seconds).")
    end: float = Field(description="End of the last window that showed the action so far.")
    windows: int = Field(ge=1, description="Windows that showed the action.")
    confidence_mean: float = Field(ge=0.0, le=1.0)
    confidence_max: float = Field(ge=0.0, le=1.0)
    last_event_id: str = Field(description="Window id (event_id) of the latest window that showed the action.")
    model_version: str
    end_reason: str | None = Field(None, description="Why it ended (end records only): idle, another action, "
                                   "windows missing, camera silent.")
    published_at: float

    def key(self) -> bytes:
        return f"{self.site}/{self.camera}".encode()


class Label(Event):
    """Late ground truth for one window, from a person or a labelling tool, on `labels.<site>` (key: event_id).
    It joins the window's outcome by `event_id`, whatever the outcome was (idle windows too: misses count)."""

    schema_version: Literal[1] = Field(1, alias="schema")
    event_id: str = Field(min_length=1, max_length=128, description="The window's id (WindowOutcome.event_id).")
    label: str = Field(min_length=1, max_length=128, description="The true class, or an idle class for no action.")
    source: str = Field(min_length=1, max_length=256, description="Who labelled it: a person, a tool, a process.")
    labelled_at: float = Field(default_factory=time.time)

    def key(self) -> bytes:
        return self.event_id.encode()


class ModelUpdate(Event):
    """A model version promoted under an alias, on the compacted model-updates topic (key: model/alias).
    Every worker that serves that alias loads the version in the background and switches at a window
    boundary."""

    schema_version: Literal[1] = Field(1, alias="schema")
    model: str = Field(description="Registered model name.")
    alias: str
    version: str
    at: float = Field(default_factory=time.time)

    def key(self) -> bytes:
        return f"{self.model}@{self.alias}".encode()



class ColumnScore(BaseModel):
    """One column's drift test, with Evidently's test names and semantics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    test: str = Field(description="ks, chisquare, chisquare_2sample, z (p-values: drift below the threshold) or "
                      "wasserstein, jensenshannon (distances: drift at or above it).")
    score: float
    threshold: float
    drifted: bool


DriftVerdict = Literal["ok", "drift", "insufficient"]
RetrainCause = Literal["data_drift", "embedding_drift", "prediction_drift", "estimated_accuracy_drop",
                       "observed_accuracy_drop"]


class DriftReport(Event):
    """One drift window of one camera against one reference profile, on `drift-reports` (key: site/camera).

    Version 2 adds the reference's observed accuracy (`reference_observed_accuracy`, `reference_labels`) and the
    policy's verdict (`alert_causes`); version 1 records are still read, those fields absent."""

    schema_version: Literal[1, 2] = Field(2, alias="schema")
    report_id: str = Field(description="Deterministic per site, camera, window start and reference.")
    site: str
    camera: str
    reference: str = Field(description="Reference profile: the model version (training profile) or the name of "
                           "the camera's baseline.")
    reference_kind: Literal["training", "camera"]
    window_start: float
    window_end: float
    frames: int = Field(ge=0, description="Frames tested (evenly thinned to a cap).")
    outcomes: int = Field(ge=0, description="Window outcomes tested.")
    scores: list[ColumnScore] = Field(description="Quality columns, then prediction columns (label, confidence).")
    drifted_columns: list[str]
    share_drifted: float = Field(ge=0.0, le=1.0, description="Share of the quality columns that drifted.")
    embedding_mmd2: float | None = Field(description="MMD^2 of X_i after PCA (Evidently's score); None: too few "
                                         "frames.")
    embedding_p_value: float | None = Field(description="Permutation p-value of that MMD^2.")
    estimated_accuracy: float | None = Field(description="Label-free estimate: mean calibrated top-1 probability.")
    estimated_accuracy_stderr: float | None = Field(None, description="Standard error of that mean over the "
                                                    "window's outcomes (None: fewer than two).")
    reference_accuracy: float | None = Field(description="What an estimated drop is measured from: the validation "
                                             "accuracy (training profile) or the label-free estimate over the "
                                             "camera's baseline windows (camera profile).")
    observed_accuracy: float | None = Field(description="Accuracy of the labelled windows (joined by event id); "
                                            "against a camera baseline, of those after the baseline's windows.")
    observed_macro_f1: float | None
    labels: int = Field(ge=0, description="Labelled windows behind the observed figures.")
    reference_observed_accuracy: float | None = Field(None, description="What an observed drop is measured from: "
                                                      "the validation accuracy (training profile) or the accuracy "
                                                      "of the baseline's labelled windows (camera profile).")
    reference_labels: int = Field(0, ge=0, description="Labelled windows behind `reference_observed_accuracy`.")
    causes: list[RetrainCause] = Field(description="Drift families that fired.")
    alert_causes: list[RetrainCause] | None = Field(None, description="The retrain policy's verdict: causes that "
                                                    "hold in k of the camera's last m windows (the camera's drift "
                                                    "alert). None: the policy does not act on this reference kind.")
    verdict: DriftVerdict
    model_version: str
    published_at: float = Field(default_factory=time.time)

    def key(self) -> bytes:
        return f"{self.site}/{self.camera}".encode()


class RetrainEvidence(BaseModel):
    """A figure that crossed its threshold in one report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    camera: str
    report_id: str
    metric: str
    value: float
    threshold: float


class RetrainRequest(Event):
    """A request to retrain the serving model, on `retrain-requests` (key: site/cause). At most one open request
    per site; the retrain worker is idempotent by request id."""

    schema_version: Literal[1] = Field(1, alias="schema")
    request_id: str
    site: str
    cause: RetrainCause
    reason: str = Field(description="Why, in words an operator can act on.")
    evidence: list[RetrainEvidence]
    report_ids: list[str] = Field(description="The drift reports that crossed the policy (persistence included).")
    cameras: list[str] = Field(description="Cameras whose windows crossed it.")
    data_start: float = Field(description="Start of the data window the evidence covers (epoch seconds).")
    data_end: float
    model_version: str
    requested_at: float = Field(default_factory=time.time)

    def key(self) -> bytes:
        return f"{self.site}/{self.cause}".encode()

RetrainOutcome = Literal["promoted", "refused", "failed", "rolled_back"]


class ModelComparison(BaseModel):
    """Candidate and production scored on the same held-out examples (paired)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    examples: int = Field(ge=0)
    candidate_accuracy: float
    production_accuracy: float
    gain: float = Field(description="Candidate minus production accuracy.")
    candidate_only: int = Field(ge=0, description="Examples only the candidate gets right.")
    production_only: int = Field(ge=0, description="Examples only production gets right.")
    p_value: float = Field(description="One-sided exact McNemar test that the candidate is not better.")


class RetrainData(BaseModel):
    """What a candidate was trained and judged on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: str = Field(description="The base training set (UCF101-layout folder).")
    labelled: str | None = Field(description="The labelled windows' set (UCF101-layout folder); None: none.")
    train_videos: int = Field(ge=0)
    labelled_videos: int = Field(ge=0, description="Labelled windows found, training and held-out together.")
    held_out_labelled: int = Field(ge=0, description="Labelled windows held out (time blocks) for the comparison.")
    held_out_base: int = Field(ge=0, description="Base test-split videos in the comparison.")
    replay_videos: int = Field(0, ge=0, description="Labelled windows of the site's other cameras replayed, "
                               "training and held-out together.")
    held_out_replay: int = Field(0, ge=0, description="Of them, held out (time blocks) for the comparison.")


class RetrainTimings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    data_s: float = Field(ge=0.0)
    training_s: float = Field(ge=0.0)
    evaluation_s: float = Field(ge=0.0)
    total_s: float = Field(ge=0.0)


class LiveComparison(BaseModel):
    """A model judged on live windows against the model serving beside or before it: a candidate's shadow run,
    or a promoted model's first windows (what a rollback is decided on)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    windows: int = Field(ge=0, description="Windows of the judged model.")
    estimated_accuracy: float | None = Field(description="Its mean label-free estimate.")
    labels: int = Field(ge=0, description="Its labelled windows.")
    observed_accuracy: float | None
    reference_windows: int = Field(ge=0, description="Windows of the model it is compared with.")
    reference_estimated_accuracy: float | None
    reference_labels: int = Field(ge=0)
    reference_observed_accuracy: float | None
    agreement: float | None = Field(None, description="Share of windows where both models give the same label "
                                    "(shadow runs only: both saw the same windows).")


class RetrainResult(Event):
    """How one retrain request ended, on `retrain-results` (key: request id): every outcome, so a refusal or a
    failure never touches the production record on the compacted model-updates topic."""

    schema_version: Literal[1] = Field(1, alias="schema")
    request_id: str
    site: str
    outcome: RetrainOutcome
    reasons: list[str] = Field(description="Why: the rules a refused candidate failed, the error of a failure, or "
                               "what a promotion or rollback passed.")
    new_data: ModelComparison | None = Field(description="The comparison on held-out labelled windows.")
    base_test: ModelComparison | None = Field(description="The comparison on the base test split (forgetting).")
    other_cameras: ModelComparison | None = Field(None, description="The comparison on held-out windows of the "
                                                  "site's other cameras (forgetting); None: none replayed.")
    candidate_version: str | None = Field(description="Registered candidate version; None: none was registered.")
    production_version: str | None = Field(description="The version in production when the request was taken.")
    data: RetrainData | None
    timings: RetrainTimings
    attempt: int = Field(ge=1, description="1, or 2 when a worker died mid-request and the request was re-run.")
    live: LiveComparison | None = Field(None, description="The candidate's shadow run against production, or, on "
                                        "a rollback, the promoted model's live windows against its parent's.")
    finished_at: float = Field(default_factory=time.time)

    def key(self) -> bytes:
        return self.request_id.encode()


# Every event type published for downstream teams, by its file name in schemas/.
PUBLISHED_EVENTS: dict[str, type[Event]] = {
    "camera-status.v1.json": CameraStatus,
    "action-event.v1.json": ActionEvent,
    "window-outcome.v1.json": WindowOutcome,
    "shadow-outcome.v1.json": ShadowOutcome,
    "incident.v1.json": Incident,
    "label.v1.json": Label,
    "model-update.v1.json": ModelUpdate,
    "drift-report.v2.json": DriftReport,
    "retrain-request.v1.json": RetrainRequest,
    "retrain-result.v1.json": RetrainResult,
}
