"""Late labels joined to window outcomes, in bounded memory: the outcomes labels may still reach (by event id,
oldest dropped first) and each camera's latest labelled windows, from which the observed accuracy comes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping

from pydantic import BaseModel

from processors.drift.calibration import ObservedPerformance, observed_performance
from processors.labels import JoinedLabel
from streams.schemas import WindowOutcome


class OutcomeIndex(Mapping[str, WindowOutcome]):
    """The latest `capacity` outcomes by event id, their frame lists dropped (a join needs only the label)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._outcomes: OrderedDict[str, WindowOutcome] = OrderedDict()

    def add(self, outcome: WindowOutcome) -> None:
        self._outcomes[outcome.event_id] = outcome.model_copy(update={"frames": []})
        self._outcomes.move_to_end(outcome.event_id)
        while len(self._outcomes) > self.capacity:
            self._outcomes.popitem(last=False)

    def __getitem__(self, event_id: str) -> WindowOutcome:
        return self._outcomes[event_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._outcomes)

    def __len__(self) -> int:
        return len(self._outcomes)


class LabelledWindow(BaseModel):
    predicted: str
    truth: str
    model_version: str
    window_start: float | None = None  # None in a state saved before windows carried their time


class ObservedLabels:
    """Per camera, the latest `capacity` labelled windows (a relabelled window keeps its latest label)."""

    def __init__(self, capacity: int, state: dict[str, dict[str, LabelledWindow]] | None = None) -> None:
        self.capacity = capacity
        self._cameras: dict[str, OrderedDict[str, LabelledWindow]] = {
            camera: OrderedDict(windows) for camera, windows in (state or {}).items()}

    def add(self, joined: JoinedLabel) -> None:
        outcome = joined.outcome
        windows = self._cameras.setdefault(f"{outcome.site}/{outcome.camera}", OrderedDict())
        windows[outcome.event_id] = LabelledWindow(predicted=outcome.label, truth=joined.label.label,
                                                   model_version=outcome.model_version,
                                                   window_start=outcome.window_start)
        windows.move_to_end(outcome.event_id)
        while len(windows) > self.capacity:
            windows.popitem(last=False)

    def performance(self, site: str, camera: str, model_version: str, since: float | None = None,
                    until: float | None = None) -> ObservedPerformance | None:
        """Accuracy and macro-F1 of the camera's labelled windows served by this model version, those starting
        in [since, until) when bounds are given (a camera baseline's windows, or the windows after it)."""

        def within(window: LabelledWindow) -> bool:
            if since is None and until is None:
                return True
            start = window.window_start
            return (start is not None and (since is None or start >= since)
                    and (until is None or start < until))

        windows = {event: window for event, window in self._cameras.get(f"{site}/{camera}", {}).items()
                   if window.model_version == model_version and within(window)}
        return observed_performance({event: window.predicted for event, window in windows.items()},
                                    {event: window.truth for event, window in windows.items()})

    def state(self) -> dict[str, dict[str, LabelledWindow]]:
        return {camera: dict(windows) for camera, windows in self._cameras.items()}
