"""`purge_site_topics` against a stand-in admin client: a fresh topic's leader that is not known yet is asked again
(the integration test saw "Not leader for partition" from the first ListOffsets right after its records)."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from streams import purge
from streams.settings import KafkaSettings
from streams.topics import Topic, topic_name

SITE = "north"
FRAMES = topic_name(Topic.FRAMES, SITE, "")


def _future(value: Any = None, error: KafkaError | None = None) -> Future[Any]:
    future: Future[Any] = Future()
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(KafkaException(error))
    return future


class _Admin:
    """One partition of the site's frames topic holding offsets 10 to 40; the first `failures` answers of each
    request say the partition has no leader yet."""

    def __init__(self, failures: int) -> None:
        self.failures = {"list_offsets": failures, "delete_records": failures}
        self.calls = {"list_offsets": 0, "delete_records": 0}

    def _error(self, request: str) -> KafkaError | None:
        self.calls[request] += 1
        if self.failures[request] > 0:
            self.failures[request] -= 1
            return KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION)
        return None

    def list_topics(self, timeout: float) -> SimpleNamespace:
        return SimpleNamespace(topics={FRAMES: SimpleNamespace(partitions={0: None})})

    def list_offsets(self, specs: dict[TopicPartition, Any], request_timeout: float
                     ) -> dict[TopicPartition, Future[Any]]:
        error = self._error("list_offsets")
        return {partition: _future(SimpleNamespace(offset=10), error) for partition in specs}

    def delete_records(self, requests: list[TopicPartition], request_timeout: float
                       ) -> dict[TopicPartition, Future[Any]]:
        error = self._error("delete_records")
        return {partition: _future(SimpleNamespace(low_watermark=40), error) for partition in requests}


def test_a_partition_without_a_known_leader_is_asked_again_and_every_record_counts_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    admin = _Admin(failures=1)
    monkeypatch.setattr(purge, "AdminClient", lambda config: admin)
    deleted = purge.purge_site_topics(KafkaSettings(), SITE, timeout_s=5.0)
    assert deleted == {FRAMES: 30}  # the records 10 to 39, counted once though the deletion was sent twice
    assert admin.calls == {"list_offsets": 2, "delete_records": 2}


def test_a_leader_that_stays_unknown_fails_the_purge_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(purge, "AdminClient", lambda config: _Admin(failures=10**6))
    with pytest.raises(KafkaException) as raised:
        purge.purge_site_topics(KafkaSettings(), SITE, timeout_s=0.5)
    assert raised.value.args[0].code() == KafkaError.NOT_LEADER_FOR_PARTITION
