"""Per-camera classifier state and the incident tracker, as pure code: window outcomes in, incident records out.

A camera's state is its last classified window (the de-duplication watermark: clips of one camera arrive in
window order, so a clip at or before the watermark is a replay) and its open incident. The classifier
consumer stores this state on a compacted topic in the same transaction as the events it derives from, so
a restarted or new consumer resumes both exactly where the last commit left them.

Incidents: consecutive windows with the same action make one incident. It survives up to
`max_missed_windows` windows in a row without the action (idle, another action, or no window at all), ends
after more, or when the camera's windows stop arriving for `silent_end_s` (wall clock). While the open
incident tolerates a miss, a different action is remembered as the runner-up, so when the open one ends,
the new incident starts at that action's first window rather than at the window that ended the old one.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field, replace

from processors.settings import IncidentSettings
from streams.schemas import Incident, WindowOutcome

STATE_VERSION = 1
INCIDENT_ID_NAMESPACE = uuid.UUID("0d3e7a52-4f0b-4c1e-8a54-93f1e2b6c7d8")


def incident_id(site: str, camera: str, start: float) -> str:
    return str(uuid.uuid5(INCIDENT_ID_NAMESPACE, f"{site}/{camera}/{round(start * 1000)}"))


@dataclass(frozen=True)
class Run:
    """Consecutive windows of one action on one camera."""

    label: str
    start: float  # start of the first window
    end: float  # end of the last window
    last_window_start: float
    windows: int
    confidence_sum: float
    confidence_max: float
    last_event_id: str
    model_version: str
    records: int = 0  # incident records published for it (its next sequence number)
    published_end: float = 0.0  # `end` when its last record was published (throttles updates)

    @classmethod
    def of(cls, outcome: WindowOutcome) -> Run:
        return cls(outcome.label, outcome.window_start, outcome.window_end, outcome.window_start, 1,
                   outcome.confidence, outcome.confidence, outcome.event_id, outcome.model_version)

    def extended(self, outcome: WindowOutcome) -> Run:
        return replace(self, end=outcome.window_end, last_window_start=outcome.window_start, windows=self.windows + 1,
                       confidence_sum=self.confidence_sum + outcome.confidence,
                       confidence_max=max(self.confidence_max, outcome.confidence), last_event_id=outcome.event_id,
                       model_version=outcome.model_version)


@dataclass(frozen=True)
class CameraState:
    site: str
    camera: str
    last_window_start: float | None = None  # de-duplication watermark
    open: Run | None = None
    runner_up: Run | None = None
    updated_at: float = 0.0  # wall clock of the last window applied

    def key(self) -> bytes:
        return f"{self.site}/{self.camera}".encode()

    def is_replay(self, window_start: float) -> bool:
        return self.last_window_start is not None and window_start <= self.last_window_start + 1e-6

    def to_bytes(self) -> bytes:
        return json.dumps({"version": STATE_VERSION, **asdict(self)}, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> CameraState:
        """Raises ValueError (or a subclass) on a record this version cannot read."""
        document = json.loads(data)
        if document.pop("version", None) != STATE_VERSION:
            raise ValueError("unsupported classifier state version")
        runs = {name: Run(**document[name]) if document.get(name) else None for name in ("open", "runner_up")}
        return cls(**{**document, **runs})


@dataclass
class Transition:
    state: CameraState
    incidents: list[Incident] = field(default_factory=list)


def apply_window(state: CameraState, outcome: WindowOutcome, settings: IncidentSettings, hop_s: float,
                 now: float) -> Transition:
    """The camera's next state and the incident records one window's outcome yields; the caller has
    dropped replays (state.is_replay)."""
    result = Transition(replace(state, last_window_start=outcome.window_start, updated_at=now))
    is_action = outcome.outcome == "action"
    current = state.open
    if current is not None:
        missed = round((outcome.window_start - current.last_window_start) / hop_s) - 1
        if is_action and outcome.label == current.label and missed <= settings.max_missed_windows:
            extended = current.extended(outcome)
            if extended.end - extended.published_end >= settings.update_interval_s:
                extended = _publish(result, extended, "update", outcome.site, outcome.camera, now)
            result.state = replace(result.state, open=extended, runner_up=None)
            return result
        if missed + 1 <= settings.max_missed_windows:
            runner_up = _runner_up(state.runner_up, outcome, hop_s) if is_action else None
            result.state = replace(result.state, runner_up=runner_up)
            return result
        reason = _end_reason(state, outcome, hop_s)
        _publish(result, current, "end", outcome.site, outcome.camera, now, reason)
        result.state = replace(result.state, open=None)
    if is_action:
        run = _runner_up(state.runner_up, outcome, hop_s)
        run = _publish(result, run, "start", outcome.site, outcome.camera, now)
        result.state = replace(result.state, open=run, runner_up=None)
    else:
        result.state = replace(result.state, runner_up=None)
    return result


def expire(state: CameraState, settings: IncidentSettings, now: float) -> Transition | None:
    """End the open incident of a camera whose windows stopped arriving; None when nothing changes."""
    if state.open is None or now - state.updated_at < settings.silent_end_s:
        return None
    result = Transition(replace(state, open=None, runner_up=None, updated_at=now))
    _publish(result, state.open, "end", state.site, state.camera, now, "camera silent")
    return result


def _runner_up(previous: Run | None, outcome: WindowOutcome, hop_s: float) -> Run:
    """The run of `outcome`'s action that this window continues, or a new one."""
    if (previous is not None and previous.label == outcome.label
            and round((outcome.window_start - previous.last_window_start) / hop_s) == 1):
        return previous.extended(outcome)
    return Run.of(outcome)


def _end_reason(state: CameraState, outcome: WindowOutcome, hop_s: float) -> str:
    """Why the open incident ends at this window: what the camera showed since its last window, or nothing."""
    if state.last_window_start is None or round((outcome.window_start - state.last_window_start) / hop_s) > 1:
        return "windows missing"
    return "idle" if outcome.outcome == "idle" else f"another action: {outcome.label}"


def _publish(result: Transition, run: Run, phase: str, site: str, camera: str, now: float,
             end_reason: str | None = None) -> Run:
    result.incidents.append(Incident(
        incident_id=incident_id(site, camera, run.start), sequence=run.records, phase=phase, site=site,
        camera=camera, label=run.label, start=run.start, end=run.end, windows=run.windows,
        confidence_mean=min(1.0, run.confidence_sum / run.windows), confidence_max=run.confidence_max,
        last_event_id=run.last_event_id, model_version=run.model_version, end_reason=end_reason, published_at=now,
    ))
    return replace(run, records=run.records + 1, published_end=run.end)


def newer(current: CameraState | None, restored: CameraState) -> CameraState:
    """Of two states of one camera, the one further along (a restore must never move a camera back)."""
    if current is None or current.last_window_start is None:
        return restored
    if restored.last_window_start is None or restored.last_window_start < current.last_window_start:
        return current
    return restored
