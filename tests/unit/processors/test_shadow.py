"""Shadow classification in the classifier consumer: a candidate beside production writes shadow outcomes in the
batch's transaction, never action events; none when the shadow is production itself."""

from __future__ import annotations

import threading

from processors.classification import Classified, Rejected
from processors.classifier_consumer import ClassifierConsumer
from processors.serving import ServedModel
from processors.settings import ClassifierSettings, ProcessorSettings
from processors.shadow import shadow_outcomes
from streams.records import Clip
from streams.schemas import ShadowOutcome
from tests.unit.processors.test_classifier_consumer import _batch, _Consumer, _Holder, _Producer


class _Shadow:
    def __init__(self, model: ServedModel | None) -> None:
        self.active = model


def _consumer(model: ServedModel, shadow: ServedModel | None) -> ClassifierConsumer:
    settings = ProcessorSettings(classifier=ClassifierSettings(retry_backoff_s=0.0), metrics_port=0)
    consumer = ClassifierConsumer(settings, holder=_Holder(model), state_reader=lambda *_: {},  # type: ignore[arg-type]
                                  shadow=_Shadow(shadow))  # type: ignore[arg-type]
    consumer.clips_topic = "clips"
    return consumer


def test_a_shadow_candidate_classifies_the_same_windows_into_shadow_outcomes(model: ServedModel) -> None:
    candidate = ServedModel(model.runtime, "tiny/4")
    consumer, producer = _consumer(model, candidate), _Producer()
    consumer._process(_Consumer(), producer, _batch(), threading.Event())  # type: ignore[arg-type]
    outcomes = [value for topic, value, _ in producer.produced if topic == consumer.outcomes_topic]
    shadows = [ShadowOutcome.model_validate_json(value) for topic, value, _ in producer.produced
               if topic == consumer.shadow_topic]
    assert len(outcomes) == len(shadows) == 2  # the third record is not a clip: a dead letter, no shadow
    assert {shadow.model_version for shadow in shadows} == {"tiny/4"}
    assert {shadow.production_version for shadow in shadows} == {"tiny/3"}
    assert all(shadow.label == shadow.production_label for shadow in shadows)  # the same weights here
    assert producer.calls == ["begin", "send_offsets", "commit"]  # in the batch's one transaction


def test_no_shadow_outcomes_while_the_shadow_is_production(model: ServedModel) -> None:
    consumer, producer = _consumer(model, None), _Producer()
    consumer._process(_Consumer(), producer, _batch(), threading.Event())  # type: ignore[arg-type]
    assert not [topic for topic, _, _ in producer.produced if topic == consumer.shadow_topic]


def test_a_window_the_shadow_rejects_has_no_shadow_outcome(model: ServedModel) -> None:
    consumer = _consumer(model, None)
    clips = [Clip.from_bytes(message.value()) for message in _batch()[:2]]
    events = [event for event in consumer.classifier.classify(clips, model) if isinstance(event, Classified)]
    records = shadow_outcomes(events, [events[0], Rejected("clip feature size not accepted")])
    assert [record.event_id for record in records] == [events[0].outcome.event_id]
