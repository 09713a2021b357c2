"""Topic creation on the real broker: when ensure_topics returns, a client that starts now sees every topic with
all its partitions led (before, a fresh catalogue was invisible to a new client in 4 of 5 tries, and a Faust
worker crashed in PartitionsMismatch)."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import AdminClient

from infra.kafka.broker import KafkaBroker
from streams.settings import KafkaSettings
from streams.topics import catalogue_topics, ensure_topics

pytestmark = pytest.mark.integration

CATALOGUES = 3  # the race showed in most fresh catalogues: three nearly always catch it


def test_every_created_topic_is_led_when_ensure_topics_returns(broker: KafkaBroker) -> None:
    for _ in range(CATALOGUES):
        kafka = KafkaSettings(bootstrap_servers=broker.settings.bootstrap_servers,
                              topic_prefix=f"c{uuid.uuid4().hex[:8]}.")
        created = {change.name for change in ensure_topics(kafka, ["site-a"]) if change.action == "created"}
        wanted = catalogue_topics(["site-a"], kafka.topic_prefix)
        assert created == set(wanted)

        metadata = AdminClient(kafka.client_config()).list_topics(timeout=10.0).topics  # a new client's first look
        for name, spec in wanted.items():
            assert name in metadata, f"{name} not in a new client's metadata"
            partitions = metadata[name].partitions
            assert len(partitions) == spec.partitions, name
            assert all(partition.leader >= 0 for partition in partitions.values()), name
