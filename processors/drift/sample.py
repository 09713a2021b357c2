"""The data of one drift window (or of a baseline period) as arrays: what the tests and reports consume."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from streams.records import ScoredFrame
from streams.schemas import InvalidMessage, WindowOutcome


def check_frame(frame: ScoredFrame, quality_columns: Sequence[str]) -> None:
    """InvalidMessage (for the dead-letter topic) when a frame's tested values are not finite: one NaN would
    turn every test of its window into NaN."""
    bad = [column for column in quality_columns if not np.isfinite(getattr(frame, column))]
    if not np.all(np.isfinite(frame.features)):
        bad.append("features")
    if bad:
        raise InvalidMessage(f"scored frame {frame.camera}/{frame.seq}: non-finite {', '.join(bad)}")


@dataclass(frozen=True)
class WindowSample:
    """Frames (quality stats, X_i) and window outcomes (label, top-k probabilities) of one camera and period."""

    quality: Mapping[str, np.ndarray]  # column -> [frames]
    embeddings: np.ndarray  # [frames, D]
    labels: list[str]  # top-1 label per window outcome
    top_k: np.ndarray  # [outcomes, k] probabilities, highest first; the first column is the confidence
    event_ids: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return len(self.embeddings)

    @property
    def confidence(self) -> np.ndarray:
        return self.top_k[:, 0] if len(self.top_k) else np.zeros(0)

    @classmethod
    def from_records(cls, frames: Sequence[ScoredFrame], outcomes: Sequence[WindowOutcome],
                     quality_columns: Sequence[str]) -> WindowSample:
        dim = len(frames[0].features) if frames else 0
        k = max((len(outcome.top_k) for outcome in outcomes), default=1)
        top_k = np.zeros((len(outcomes), k))
        for row, outcome in enumerate(outcomes):
            top_k[row, :len(outcome.top_k)] = [score.confidence for score in outcome.top_k]
        return cls(
            quality={column: np.array([getattr(frame, column) for frame in frames], dtype=float)
                     for column in quality_columns},
            embeddings=np.array([frame.features for frame in frames], dtype=np.float32).reshape(len(frames), dim),
            labels=[outcome.label for outcome in outcomes],
            top_k=top_k,
            event_ids=[outcome.event_id for outcome in outcomes],
        )

    @classmethod
    def from_probabilities(cls, quality: Mapping[str, np.ndarray], embeddings: np.ndarray,
                           probabilities: np.ndarray, classes: Sequence[str], top_k: int) -> WindowSample:
        """At training time: validation frames and the model's class probabilities per validation window [N, C],
        reduced to what serving publishes (top-1 label, top-k probabilities)."""
        ranked = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k]
        return cls(quality=dict(quality), embeddings=np.asarray(embeddings, dtype=np.float32),
                   labels=[classes[index] for index in ranked[:, 0]],
                   top_k=np.take_along_axis(probabilities, ranked, axis=1))

    @classmethod
    def concat(cls, samples: Sequence[WindowSample]) -> WindowSample:
        """Several windows as one: a camera baseline from its first windows, or a site's cameras together."""
        if not samples:
            raise ValueError("nothing to concatenate")
        k = max(sample.top_k.shape[1] for sample in samples)
        return cls(
            quality={column: np.concatenate([sample.quality[column] for sample in samples])
                     for column in samples[0].quality},
            embeddings=np.concatenate([sample.embeddings for sample in samples]),
            labels=[label for sample in samples for label in sample.labels],
            top_k=np.concatenate([np.pad(sample.top_k, ((0, 0), (0, k - sample.top_k.shape[1])))
                                  for sample in samples]),
            event_ids=[event for sample in samples for event in sample.event_ids],
        )

    def thinned(self, max_frames: int) -> WindowSample:
        """At most max_frames frames, evenly spaced in time; outcomes unchanged."""
        if self.frames <= max_frames:
            return self
        keep = np.linspace(0, self.frames - 1, max_frames).round().astype(int)
        return WindowSample({name: values[keep] for name, values in self.quality.items()}, self.embeddings[keep],
                            self.labels, self.top_k, self.event_ids)
