from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from prometheus_client import REGISTRY

from models.runtime import SmartRuntime
from processors.classification import Classified, ClipClassifier, Rejected, observe
from processors.serving import ServedModel
from processors.settings import ClassifierSettings, SheddingSettings
from tests.support.clips import make_clip
from tests.unit.processors.conftest import CLASSES

SHEDDING = SheddingSettings(staleness_bound_s=1.0, step_s=0.5, floor=2)


def _classifier(now: float, top_k: int = 3) -> ClipClassifier:
    return ClipClassifier(ClassifierSettings(top_k=top_k), SHEDDING, clock=lambda: now)


def test_an_on_time_clip_becomes_one_event_with_every_field(model: ServedModel) -> None:
    clip = make_clip("s1", "cam-1", window_start=1000.0, num_frames=4, closed_after_s=0.5)
    now = clip.window_end + 0.6  # on time: below the 1 s staleness bound
    [outcome] = _classifier(now).classify([clip], model)

    assert isinstance(outcome, Classified) and outcome.shed_frames == 0
    event = outcome.outcome
    assert (event.event_id, event.site, event.camera) == (clip.clip_id, "s1", "cam-1")
    assert (event.window_start, event.window_end, event.budget, event.candidates) == (1000.0, 1004.0, 4, 32)
    assert event.model_version == "tiny/3" and event.selector_version == clip.selector_version
    assert not event.shed and not event.incomplete and event.published_at == now
    assert [(f.seq, f.topic, f.partition, f.offset, f.score) for f in event.frames] == [
        (i, "frames.s1", 0, 1000 + i, float(i + 1)) for i in range(4)
    ]
    confidences = [score.confidence for score in event.top_k]
    assert len(event.top_k) == 3 and confidences == sorted(confidences, reverse=True)
    assert (event.label, event.confidence) == (event.top_k[0].label, event.top_k[0].confidence)
    assert {score.label for score in event.top_k} <= set(CLASSES)
    last = clip.frames[-1]
    assert event.latency.ingest == pytest.approx(0.01)
    assert event.latency.score == pytest.approx(0.02)
    assert event.latency.select == pytest.approx(0.5)
    assert event.latency.classify == pytest.approx(0.1)
    assert event.latency.processing == pytest.approx(0.6)
    assert event.latency.end_to_end == pytest.approx(now - last.capture_time)


def test_one_batched_pass_gives_each_clip_its_own_probabilities(model: ServedModel) -> None:
    clips = [make_clip("s1", f"cam-{n}", 1000.0, num_frames=n, seed=n) for n in (2, 4, 3)]
    classifier = _classifier(clips[0].window_end + 0.6, top_k=len(CLASSES))
    batched = classifier.classify(clips, model)
    alone = [classifier.classify([clip], model)[0] for clip in clips]

    for together, single, clip in zip(batched, alone, clips, strict=True):
        assert isinstance(together, Classified) and isinstance(single, Classified)
        assert together.outcome.event_id == clip.clip_id
        expected = [score.confidence for score in single.outcome.top_k]
        assert [score.confidence for score in together.outcome.top_k] == pytest.approx(expected, abs=1e-6)
        representation = np.stack([frame.features for frame in clip.frames]).astype(np.float32)
        by_label = dict(zip(CLASSES, model.runtime.classify(representation), strict=True))
        assert together.outcome.confidence == pytest.approx(by_label[together.outcome.label], abs=1e-6)


def test_a_late_clip_keeps_its_best_scored_frames_and_says_it_shed(model: ServedModel) -> None:
    clip = make_clip("s1", "cam-1", 1000.0, num_frames=4)  # frame i scores i + 1
    # 1.6 s stale: past the 1 s bound by one 0.5 s step -> two frames fewer than the budget of 4.
    [outcome] = _classifier(clip.window_end + 1.6).classify([clip], model)

    assert isinstance(outcome, Classified)
    assert outcome.outcome.shed and outcome.shed_frames == 2
    assert [frame.seq for frame in outcome.outcome.frames] == [2, 3]


def test_shedding_never_goes_below_the_floor(model: ServedModel) -> None:
    clip = make_clip("s1", "cam-1", 1000.0, num_frames=4)
    [outcome] = _classifier(clip.window_end + 3600.0).classify([clip], model)

    assert isinstance(outcome, Classified) and len(outcome.outcome.frames) == SHEDDING.floor


def test_a_clip_shed_upstream_stays_marked_shed(model: ServedModel) -> None:
    clip = make_clip("s1", "cam-1", 1000.0, num_frames=3, budget=4)
    upstream_shed = clip.with_frames(clip.frames, shed=True)
    [outcome] = _classifier(clip.window_end + 0.1).classify([upstream_shed], model)

    assert isinstance(outcome, Classified)
    assert outcome.outcome.shed and outcome.shed_frames == 0 and len(outcome.outcome.frames) == 3


def test_clips_the_model_cannot_take_are_rejected_with_a_reason_and_the_rest_classified(model: ServedModel) -> None:
    good = make_clip("s1", "cam-1", 1000.0)
    wrong_size = make_clip("s1", "cam-2", 1000.0, feature_dim=100)
    nan = make_clip("s1", "cam-3", 1000.0)
    nan.frames[0].features[:] = np.nan  # the lowest-scored frame: refused even though shedding would drop it
    no_budget = make_clip("s1", "cam-4", 1000.0, budget=0)
    outcomes = _classifier(good.window_end + 3600.0).classify([wrong_size, good, nan, no_budget], model)

    assert [type(outcome) for outcome in outcomes] == [Rejected, Classified, Rejected, Rejected]
    assert "size 100" in outcomes[0].reason and "1664" in outcomes[0].reason  # type: ignore[union-attr]
    assert "finite" in outcomes[2].reason  # type: ignore[union-attr]
    assert "budget: 0" in outcomes[3].reason  # type: ignore[union-attr]
    assert outcomes[1].outcome.event_id == good.clip_id  # type: ignore[union-attr]


def test_observe_counts_a_window_shed_here(model: ServedModel) -> None:
    clip = make_clip("s1", "cam-1", 1000.0, num_frames=4)
    [late] = _classifier(clip.window_end + 1.6).classify([clip], model)
    [on_time] = _classifier(clip.window_end + 0.1).classify([clip], model)

    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"stage": "classifier"}) or 0.0

    shed_before, out_before = sample("actionstream_shed_windows_total"), sample("actionstream_records_out_total")
    observe(late)  # type: ignore[arg-type]
    observe(on_time)  # type: ignore[arg-type]
    assert sample("actionstream_shed_windows_total") == shed_before + 1
    assert sample("actionstream_records_out_total") == out_before + 2


def test_a_window_whose_top_label_is_an_idle_class_is_an_idle_outcome(model: ServedModel) -> None:
    clip = make_clip("s1", "cam-1", window_start=1000.0, num_frames=4)
    now = clip.window_end + 0.1
    [action] = ClipClassifier(ClassifierSettings(idle_labels=[]), SHEDDING, clock=lambda: now).classify([clip], model)
    label = action.outcome.label  # type: ignore[union-attr]
    [idle] = ClipClassifier(ClassifierSettings(idle_labels=[label]), SHEDDING,
                            clock=lambda: now).classify([clip], model)

    assert action.outcome.outcome == "action"  # type: ignore[union-attr]
    assert idle.outcome.outcome == "idle" and idle.outcome.label == label  # type: ignore[union-attr]


def test_a_window_less_confident_than_the_floor_is_an_idle_outcome_keeping_its_label(model: ServedModel) -> None:
    clip = make_clip("s1", "cam-1", window_start=1000.0, num_frames=4)
    now = clip.window_end + 0.1
    [confident] = ClipClassifier(ClassifierSettings(idle_labels=[]), SHEDDING,
                                 clock=lambda: now).classify([clip], model)
    confidence = confident.outcome.confidence  # type: ignore[union-attr]
    [kept] = ClipClassifier(ClassifierSettings(idle_labels=[], min_action_confidence=confidence), SHEDDING,
                            clock=lambda: now).classify([clip], model)
    [rejected] = ClipClassifier(ClassifierSettings(idle_labels=[], min_action_confidence=min(1.0, confidence + 1e-3)),
                                SHEDDING, clock=lambda: now).classify([clip], model)

    assert kept.outcome.outcome == "action"  # type: ignore[union-attr]
    assert rejected.outcome.outcome == "idle"  # type: ignore[union-attr]
    assert rejected.outcome.label == confident.outcome.label  # type: ignore[union-attr]


def test_without_a_site_floor_the_floor_the_model_was_trained_with_applies(model: ServedModel) -> None:
    clip = make_clip("s1", "cam-1", window_start=1000.0, num_frames=4)
    now = clip.window_end + 0.1
    [confident] = ClipClassifier(ClassifierSettings(idle_labels=[]), SHEDDING,
                                 clock=lambda: now).classify([clip], model)
    confidence = confident.outcome.confidence  # type: ignore[union-attr]
    manifest = model.runtime.bundle.manifest.model_copy(update={"min_action_confidence": min(1.0, confidence + 1e-3)})
    bundle = replace(model.runtime.bundle, manifest=manifest)
    strict = ServedModel(SmartRuntime(bundle, model.runtime.backend), "tiny/4")

    [rejected] = ClipClassifier(ClassifierSettings(idle_labels=[]), SHEDDING,
                                clock=lambda: now).classify([clip], strict)
    [overridden] = ClipClassifier(ClassifierSettings(idle_labels=[], min_action_confidence=0.0), SHEDDING,
                                  clock=lambda: now).classify([clip], strict)

    assert confident.outcome.outcome == "action"  # type: ignore[union-attr]
    assert rejected.outcome.outcome == "idle"  # type: ignore[union-attr]
    assert overridden.outcome.outcome == "action"  # type: ignore[union-attr]
