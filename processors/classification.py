"""Clips to window outcomes with the served model: validation, selection-aware load shedding, one batched
classifier pass, top-k, action or idle, and per-hop latencies. Pure: the classifier consumer moves the
records."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from processors import metrics
from processors.serving import ServedModel
from processors.settings import ClassifierSettings, SheddingSettings
from processors.shedding import frames_to_keep, top_by_score
from streams.codec import JpegDecodeError, decode_jpeg
from streams.records import Clip, ClipFrame
from streams.schemas import HopLatency, InvalidMessage, LabelScore, SelectedFrame, WindowOutcome

STAGE = "classifier"


@dataclass(frozen=True)
class Classified:
    outcome: WindowOutcome
    shed_frames: int  # frames this stage dropped to catch up (0: the clip was classified whole)


@dataclass(frozen=True)
class Rejected:
    reason: str


Outcome = Classified | Rejected


@dataclass(frozen=True)
class _Prepared:
    clip: Clip
    frames: list[ClipFrame]  # kept after shedding, time order
    representation: np.ndarray  # [n,D] float32
    images: np.ndarray | None  # [n,H,W,3] RGB, only for a classifier that needs frames


class ClipClassifier:
    """Classifies batches of clips; one outcome per clip, in input order."""

    def __init__(self, settings: ClassifierSettings, shedding: SheddingSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.shedding = shedding
        self.clock = clock

    def classify(self, clips: list[Clip], model: ServedModel) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(clips)
        prepared: list[tuple[int, _Prepared]] = []
        for index, clip in enumerate(clips):
            try:
                prepared.append((index, self._prepare(clip, model)))
            except InvalidMessage as error:
                outcomes[index] = Rejected(str(error))
        if prepared:
            # Images exist for every clip when the classifier needs frames, for none otherwise.
            images = [item.images for _, item in prepared if item.images is not None]
            probabilities = model.runtime.classify_batch([item.representation for _, item in prepared],
                                                         images or None)
            for (index, item), clip_probabilities in zip(prepared, probabilities, strict=True):
                outcomes[index] = self._event(item, clip_probabilities, model)
        return [outcome for outcome in outcomes if outcome is not None]

    def _prepare(self, clip: Clip, model: ServedModel) -> _Prepared:
        runtime = model.runtime
        expected = runtime.bundle.manifest.architecture.representation_dim
        size = clip.frames[0].features.shape[0]
        if not runtime.needs_frames and size != expected:
            raise InvalidMessage(f"clip feature size not accepted: size {size}, model {model.version} takes {expected}")
        if clip.budget < 1:
            raise InvalidMessage(f"invalid clip budget: {clip.budget}, at least one frame is needed")
        # Checked on every frame, not only the kept ones: a malformed clip is refused whether or not we shed.
        if not all(np.isfinite(frame.features).all() for frame in clip.frames):
            raise InvalidMessage("clip features not finite: NaN or infinity")
        # Staleness is how late the window is being classified; behind, keep the best-scored frames only.
        keep = frames_to_keep(clip.budget, self.clock() - clip.window_end, self.shedding)
        frames = clip.frames
        if keep < len(frames):
            frames = [frames[index] for index in top_by_score([frame.score for frame in frames], keep)]
        representation = np.stack([frame.features for frame in frames]).astype(np.float32)
        images = None
        if runtime.needs_frames:
            try:
                decoded = [decode_jpeg(frame.jpeg) for frame in frames]
            except JpegDecodeError as error:
                raise InvalidMessage(f"clip frame not decodable: {error}") from None
            if len({image.shape for image in decoded}) != 1:
                raise InvalidMessage("clip frames of different image sizes: cannot batch them")
            images = np.stack(decoded)
        return _Prepared(clip, frames, representation, images)

    def _floor(self, model: ServedModel) -> float:
        """The open-set floor: this site's setting when set, else the one the model's training chose."""
        if self.settings.min_action_confidence is not None:
            return self.settings.min_action_confidence
        return model.runtime.bundle.manifest.min_action_confidence

    def _event(self, item: _Prepared, probabilities: np.ndarray, model: ServedModel) -> Classified:
        clip, frames = item.clip, item.frames
        classes = model.runtime.classes
        ranked = np.argsort(-probabilities, kind="stable")[: self.settings.top_k]
        # float32 rounding can leave a probability a hair outside [0, 1]
        top_k = [LabelScore(label=classes[index], confidence=min(1.0, max(0.0, float(probabilities[index]))))
                 for index in ranked]
        last = frames[-1]
        published_at = self.clock()
        latency = HopLatency(
            ingest=last.ingest_time - last.capture_time,
            score=last.scored_time - last.ingest_time,
            select=clip.closed_time - clip.window_end,
            classify=published_at - clip.closed_time,
            processing=published_at - clip.window_end,
            end_to_end=published_at - last.capture_time,
        )
        shed_frames = len(clip.frames) - len(frames)
        label = top_k[0].label
        # A background class, or too unsure for an action: no action event (open-set rejection).
        idle = label in self.settings.idle_labels or top_k[0].confidence < self._floor(model)
        outcome = WindowOutcome(
            outcome="idle" if idle else "action", event_id=clip.clip_id,
            site=clip.site, camera=clip.camera, window_start=clip.window_start, window_end=clip.window_end,
            label=label, confidence=top_k[0].confidence, top_k=top_k,
            frames=[
                SelectedFrame(seq=frame.seq, capture_time=frame.capture_time, score=frame.score,
                              topic=frame.source.topic, partition=frame.source.partition,
                              offset=frame.source.offset)
                for frame in frames
            ],
            candidates=clip.candidates, budget=clip.budget, shed=clip.shed or shed_frames > 0,
            incomplete=clip.incomplete, selector_version=clip.selector_version, model_version=model.version,
            published_at=published_at, latency=latency,
        )
        return Classified(outcome, shed_frames)


def observe(classified: Classified) -> None:
    """Metrics of one window outcome; called once its transaction committed, so a retried batch counts once."""
    event = classified.outcome
    metrics.RECORDS_OUT.labels(stage=STAGE).inc()
    metrics.OUTCOMES.labels(outcome=event.outcome).inc()
    metrics.FRAMES_PER_WINDOW.labels(stage=STAGE).observe(len(event.frames))
    if classified.shed_frames:
        metrics.SHED_WINDOWS.labels(stage=STAGE).inc()
    metrics.HOP_SECONDS.labels(hop="classify").observe(event.latency.classify)
    metrics.PROCESSING_SECONDS.observe(event.latency.processing)
    metrics.END_TO_END_SECONDS.observe(event.latency.end_to_end)
