"""`retried`: a call asked again while its error passes by itself, and only then."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.kafka_retry import COORDINATOR_STARTING, LEADER_MOVING, retried


class FailingFirst:
    """A call that raises the given errors first, then answers with the number of calls."""

    def __init__(self, errors: list[KafkaError]) -> None:
        self.errors = errors
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.errors:
            raise KafkaException(self.errors.pop(0))
        return self.calls


def test_a_transient_error_is_asked_again_until_the_call_answers() -> None:
    call = FailingFirst([KafkaError(KafkaError.COORDINATOR_LOAD_IN_PROGRESS), KafkaError(KafkaError.NOT_COORDINATOR)])
    assert retried(call, COORDINATOR_STARTING, timeout_s=5.0) == 3


def test_an_error_outside_the_set_is_raised_at_once() -> None:
    call = FailingFirst([KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION)])
    with pytest.raises(KafkaException, match="NOT_LEADER_FOR_PARTITION"):
        retried(call, COORDINATOR_STARTING, timeout_s=5.0)
    assert call.calls == 1


def test_a_retriable_error_is_asked_again_only_when_any_retriable_is_allowed() -> None:
    timed_out = KafkaError(KafkaError._TIMED_OUT, retriable=True)
    strict = FailingFirst([timed_out])
    with pytest.raises(KafkaException):
        retried(strict, LEADER_MOVING, timeout_s=5.0)
    assert strict.calls == 1
    assert retried(FailingFirst([timed_out]), LEADER_MOVING, timeout_s=5.0, any_retriable=True) == 2


def test_the_last_error_is_raised_once_the_timeout_has_passed() -> None:
    call = FailingFirst([KafkaError(KafkaError.LEADER_NOT_AVAILABLE)] * 100)
    with pytest.raises(KafkaException, match="LEADER_NOT_AVAILABLE"):
        retried(call, LEADER_MOVING, timeout_s=0.5)
    assert 1 < call.calls < 100
