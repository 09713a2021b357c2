"""The sink's plumbing without a broker: offsets are committed only after a push and never past an outcome
whose row is still pending; a bad record becomes a dead letter and the next record is processed."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
from confluent_kafka import TopicPartition

from processors.features.settings import FeatureSinkOptions, FeatureSinkSettings
from processors.features.sink import FeatureSink
from streams.deadletter import reason_of
from streams.settings import KafkaSettings
from tests.support.features import make_outcome, make_scored_frame


@dataclass
class _Message:
    _topic: str
    _partition: int
    _offset: int
    _value: bytes

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes:
        return self._value

    def key(self) -> bytes:
        return b"s/c"

    def headers(self) -> None:
        return None


@dataclass
class _Fakes:
    """The client, producer and consumer the sink talks to, recording what they were given."""

    pushed: list[pa.Table] = field(default_factory=list)
    produced: list[tuple[str, list[tuple[str, bytes]]]] = field(default_factory=list)
    committed: list[list[TopicPartition]] = field(default_factory=list)

    def push(self, table: pa.Table) -> None:
        self.pushed.append(table)

    def produce(self, topic: str, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        self.produced.append((topic, headers))

    def poll(self, _timeout: float) -> int:
        return 0

    def flush(self, _timeout: float) -> int:
        return 0

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        self.committed.append(offsets)


def _sink(fakes: _Fakes) -> FeatureSink:
    settings = FeatureSinkSettings(kafka=KafkaSettings(), feature_sink=FeatureSinkOptions(grace_s=1000.0),
                                   metrics_port=0)  # no topic prefix, whatever the environment says
    return FeatureSink(settings, fakes)  # type: ignore[arg-type]


def _offsets(commit: list[TopicPartition]) -> dict[tuple[str, int], int]:
    return {(offset.topic, offset.partition): offset.offset for offset in commit}


def test_offsets_stop_at_a_pending_outcome_and_move_on_once_its_row_is_pushed() -> None:
    fakes = _Fakes()
    sink = _sink(fakes)
    frames = [make_scored_frame("s", "c", 100.0 + index) for index in range(3)]  # up to 102 s: [100, 104) not in
    for offset, frame in enumerate(frames):
        sink._take(_Message("scored-frames", 0, offset, frame.to_bytes()), fakes)  # type: ignore[arg-type]
    sink._take(_Message("outcomes", 1, 7, make_outcome("s", "c", 100.0).to_json_bytes()), fakes)  # type: ignore[arg-type]
    sink._take(_Message("outcomes", 1, 8, make_outcome("s", "c", 90.0).to_json_bytes()), fakes)  # type: ignore[arg-type]
    sink._rows += sink.aggregator.ready(now=0.0)  # window 90 has ended before the frames: ready; 100 waits
    assert sink._push(fakes, fakes)  # type: ignore[arg-type]
    assert fakes.pushed[0].column("window_start").to_pylist() == [90.0]
    assert _offsets(fakes.committed[-1]) == {("scored-frames", 0): 3, ("outcomes", 1): 7}

    sink._take(_Message("scored-frames", 0, 3, make_scored_frame("s", "c", 104.0).to_bytes()), fakes)  # type: ignore[arg-type]
    sink._rows += sink.aggregator.ready(now=0.0)
    assert sink._push(fakes, fakes)  # type: ignore[arg-type]
    assert fakes.pushed[1].column("frames").to_pylist() == [3]
    assert _offsets(fakes.committed[-1]) == {("scored-frames", 0): 4, ("outcomes", 1): 9}


def test_a_bad_record_is_a_dead_letter_and_the_next_one_counts() -> None:
    fakes = _Fakes()
    sink = _sink(fakes)
    sink._take(_Message("scored-frames", 0, 0, b"garbage"), fakes)  # type: ignore[arg-type]
    sink._take(_Message("outcomes", 0, 0, b'{"schema": 1}'), fakes)  # type: ignore[arg-type]
    sink._take(_Message("scored-frames", 0, 1, make_scored_frame("s", "c", 1.0).to_bytes()), fakes)  # type: ignore[arg-type]
    assert [topic for topic, _ in fakes.produced] == ["deadletter", "deadletter"]
    reasons = [reason_of(headers)["reason"] for _, headers in fakes.produced]
    assert reasons[0].startswith("not a scored-frame record") and reasons[1].startswith("invalid outcome")
    assert (sink.stats.deadletters, sink.stats.frames) == (2, 1)
