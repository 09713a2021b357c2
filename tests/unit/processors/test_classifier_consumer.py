"""Transaction handling of the classifier consumer with fake clients: an abortable failure aborts and rewinds,
a retriable one is retried, only a committed batch settles the cameras' state, a replaced producer resumes
from the committed offsets, and de-duplication survives a restart through the restored state."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from processors.classifier_consumer import ClassifierConsumer, _ProducerStuck
from processors.incidents import CameraState
from processors.serving import ServedModel
from processors.settings import ClassifierSettings, ProcessorSettings
from streams.deadletter import reason_of
from tests.support.clips import make_clip

CLIPS = "clips"


class _Holder:
    def __init__(self, model: ServedModel) -> None:
        self.current = model


class _Producer:
    """Records what a transactional producer is asked; raises the queued errors of each step once."""

    def __init__(self, failures: dict[str, list[KafkaError]] | None = None) -> None:
        self.failures = failures or {}
        self.calls: list[str] = []
        self.produced: list[tuple[str, bytes, list[tuple[str, bytes]] | None]] = []
        self.offsets: list[list[TopicPartition]] = []
        self.keyed: list[tuple[str, bytes, bytes]] = []

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if self.failures.get(name):
            raise KafkaException(self.failures[name].pop(0))

    def begin_transaction(self) -> None:
        self._step("begin")

    def produce(self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]] | None = None) -> None:
        self.produced.append((topic, value, headers))
        self.keyed.append((topic, value, key))

    def send_offsets_to_transaction(self, offsets: list[TopicPartition], group: Any, timeout: float) -> None:
        self._step("send_offsets")
        self.offsets.append(offsets)

    def commit_transaction(self, timeout: float) -> None:
        self._step("commit")

    def abort_transaction(self, timeout: float) -> None:
        self._step("abort")


class _Consumer:
    def __init__(self, committed: list[TopicPartition] | None = None) -> None:
        self.seeks: list[tuple[str, int, int]] = []
        self._committed = committed or []

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return self._committed

    def consumer_group_metadata(self) -> object:
        return object()

    def seek(self, partition: TopicPartition) -> None:
        self.seeks.append((partition.topic, partition.partition, partition.offset))


@pytest.fixture
def classifier(model: ServedModel) -> ClassifierConsumer:
    settings = ProcessorSettings(classifier=ClassifierSettings(retry_backoff_s=0.0), metrics_port=0)
    consumer = ClassifierConsumer(settings, holder=_Holder(model),  # type: ignore[arg-type]
                                  state_reader=lambda *_: {})
    consumer.clips_topic = CLIPS
    consumer._assignment = [TopicPartition(CLIPS, 0), TopicPartition(CLIPS, 3)]
    return consumer


def _batch() -> list[Message]:
    clips = [make_clip("s1", f"cam-{i}", 1000.0 + i, seed=i) for i in range(2)]
    batch = [
        Message(topic=CLIPS, partition=0, offset=10, value=clips[0].to_bytes(), key=clips[0].key()),
        Message(topic=CLIPS, partition=0, offset=11, value=clips[1].to_bytes(), key=clips[1].key()),
        Message(topic=CLIPS, partition=3, offset=7, value=b"not a clip", key=b"s1/cam-9"),
    ]
    return batch


def test_an_abortable_commit_failure_aborts_rewinds_and_settles_nothing(classifier: ClassifierConsumer) -> None:
    abortable = KafkaError(KafkaError._STATE, "fenced epoch", txn_requires_abort=True)
    producer, consumer = _Producer({"commit": [abortable]}), _Consumer()
    batch = _batch()
    classifier._process(consumer, producer, batch, threading.Event())  # type: ignore[arg-type]

    assert producer.calls == ["begin", "send_offsets", "commit", "abort"]
    assert sorted(consumer.seeks) == [(CLIPS, 0, 10), (CLIPS, 3, 7)]  # the batch's first records, again
    assert classifier.stats.aborted_batches == 1 and classifier.stats.events == 0
    assert classifier.cameras == {}

    producer = _Producer()
    classifier._process(consumer, producer, batch, threading.Event())  # type: ignore[arg-type]

    assert producer.calls == ["begin", "send_offsets", "commit"]
    assert sorted((tp.topic, tp.partition, tp.offset) for tp in producer.offsets[0]) == [(CLIPS, 0, 12),
                                                                                          (CLIPS, 3, 8)]
    topics = [topic for topic, _, _ in producer.produced]
    assert sorted(topics) == ["actions.s1", "actions.s1", "classifier-state", "classifier-state", "deadletter",
                              "incidents.s1", "incidents.s1", "outcomes", "outcomes"]
    [(_, value, headers)] = [record for record in producer.produced if record[0] == "deadletter"]
    assert value == b"not a clip" and reason_of(headers)["stage"] == "classifier"
    assert classifier.stats.events == 2
    assert {camera: state.last_window_start for camera, state in classifier.cameras.items()} == {
        "s1/cam-0": 1000.0, "s1/cam-1": 1001.0}


def test_a_retriable_failure_is_retried_within_the_transaction(classifier: ClassifierConsumer) -> None:
    retriable = KafkaError(KafkaError.COORDINATOR_LOAD_IN_PROGRESS, "coordinator loading", retriable=True)
    producer = _Producer({"send_offsets": [retriable]})
    batch = _batch()
    classifier._process(_Consumer(), producer, batch, threading.Event())  # type: ignore[arg-type]

    assert producer.calls == ["begin", "send_offsets", "send_offsets", "commit"]
    assert classifier.stats.aborted_batches == 0 and classifier.stats.events == 2


def test_a_redelivered_batch_yields_no_second_event(classifier: ClassifierConsumer) -> None:
    batch = _batch()
    classifier._process(_Consumer(), _Producer(), batch, threading.Event())  # type: ignore[arg-type]
    again = _Producer()
    classifier._process(_Consumer(), again, batch, threading.Event())  # type: ignore[arg-type]

    assert [topic for topic, _, _ in again.produced] == ["deadletter"]
    assert (classifier.stats.events, classifier.stats.duplicates) == (2, 2)


def test_a_fatal_error_is_raised(classifier: ClassifierConsumer) -> None:
    fatal = KafkaError(KafkaError._FENCED, "fenced by a newer instance", fatal=True)
    batch = _batch()
    with pytest.raises(KafkaException):
        classifier._process(_Consumer(), _Producer({"commit": [fatal]}), batch,  # type: ignore[arg-type]
                            threading.Event())


def test_a_replaced_producer_resumes_from_the_committed_offsets_not_the_batch(classifier: ClassifierConsumer) -> None:
    # The commit timed out, but it may have committed: the broker's committed offsets say where to resume.
    timed_out = KafkaError(KafkaError._TIMED_OUT, "commit timed out", retriable=True)
    batch = _batch()
    consumer = _Consumer(committed=[TopicPartition(CLIPS, 0, 12), TopicPartition(CLIPS, 3, -1001)])
    with pytest.raises(_ProducerStuck):
        classifier._process(consumer, _Producer({"commit": [timed_out]}), batch,  # type: ignore[arg-type]
                            threading.Event())
    fresh = _FreshProducer()
    classifier._new_producer = lambda: fresh  # type: ignore[method-assign]
    classifier._replace_producer(consumer, batch, threading.Event(), "stuck")  # type: ignore[arg-type]

    assert fresh.initialised
    # Partition 0 committed past the batch: no replay there; partition 3 has no commit: the batch's first record.
    assert sorted(consumer.seeks) == [(CLIPS, 0, 12), (CLIPS, 3, 7)]


def test_deduplication_survives_a_restart_through_the_restored_state(model: ServedModel) -> None:
    batch = _batch()
    settings = ProcessorSettings(classifier=ClassifierSettings(retry_backoff_s=0.0), metrics_port=0)
    first = ClassifierConsumer(settings, holder=_Holder(model), state_reader=lambda *_: {})  # type: ignore[arg-type]
    producer = _Producer()
    first._process(_Consumer(), producer, batch, threading.Event())  # type: ignore[arg-type]
    committed = {key.decode(): CameraState.from_bytes(value) for topic, value, key in producer.keyed
                 if topic == "classifier-state"}

    restarted = ClassifierConsumer(settings, holder=_Holder(model),  # type: ignore[arg-type]
                                   state_reader=lambda *_: committed)
    restarted._restore_states(threading.Event())
    again = _Producer()
    restarted._process(_Consumer(), again, batch, threading.Event())  # type: ignore[arg-type]

    assert [topic for topic, _, _ in again.produced] == ["deadletter"]
    assert restarted.stats.duplicates == 2


class _FreshProducer:
    def __init__(self) -> None:
        self.initialised = False

    def init_transactions(self, timeout: float) -> None:
        self.initialised = True


class _FollowingHolder(_Holder):
    def follow(self) -> None:
        pass

    def swap_if_ready(self) -> bool:
        return False

    def close(self) -> None:
        pass


class _AssigningConsumer:
    """Assigns partitions inside its first poll, as librdkafka runs rebalance callbacks, and never has a record;
    the test's stop is set after a few polls."""

    def __init__(self, stop: threading.Event, polls_allowed: int = 5) -> None:
        self.stop = stop
        self.polls = 0
        self.polls_allowed = polls_allowed
        self.on_assign: Any = None

    def subscribe(self, topics: list[str], on_assign: Any, **_: Any) -> None:
        self.on_assign = on_assign

    def poll(self, timeout: float) -> None:
        self.polls += 1
        if self.polls == 1:
            self.on_assign(self, [TopicPartition(CLIPS, 0)])
        if self.polls >= self.polls_allowed:
            self.stop.set()

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return []

    def close(self) -> None:
        pass


def test_the_state_is_restored_at_assignment_and_only_then_ready(model: ServedModel,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """No record ever arrives: the cameras' state is read back right after the assignment (it used to wait for
    the first clip, which then paid for the read), and readiness comes after it."""
    stop = threading.Event()
    consumer = _AssigningConsumer(stop)
    monkeypatch.setattr("processors.classifier_consumer.Consumer", lambda config: consumer)
    when_read: list[tuple[int, bool]] = []  # (polls so far, ready) at each read of the state
    settings = ProcessorSettings(classifier=ClassifierSettings(retry_backoff_s=0.0, idle_poll_s=0.001),
                                 metrics_port=0)

    def read_states(*_: Any) -> dict[str, CameraState]:
        when_read.append((consumer.polls, classifier.ready.is_set()))
        return {"s1/cam-0": CameraState("s1", "cam-0", last_window_start=1000.0)}

    classifier = ClassifierConsumer(settings, holder=_FollowingHolder(model),  # type: ignore[arg-type]
                                    state_reader=read_states)
    classifier._new_producer = lambda: _FreshProducer()  # type: ignore[method-assign, assignment, return-value]

    classifier.run(stop)

    assert when_read == [(1, False)]  # read once, right after the assigning poll, before it reported ready
    assert classifier.ready.is_set()
    assert classifier.cameras["s1/cam-0"].last_window_start == 1000.0
