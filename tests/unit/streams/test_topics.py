"""The topic catalogue: names, per-site topics, cleanup policies and size limits."""

from __future__ import annotations

import pytest

from streams.retention import SiteRetention
from streams.topics import CATALOGUE, Topic, catalogue_topics, spec_for, topic_name


def test_every_topic_has_exactly_one_spec() -> None:
    assert [spec.topic for spec in CATALOGUE] == list(Topic)


@pytest.mark.parametrize(
    "topic, site, prefix, expected",
    [
        (Topic.FRAMES, "site-a", "", "frames.site-a"),
        (Topic.FRAMES, "site-a", "prod.", "prod.frames.site-a"),
        (Topic.ACTIONS, "b", "", "actions.b"),
        (Topic.LABELS, "b", "t1.", "t1.labels.b"),
        (Topic.SCORED_FRAMES, None, "", "scored-frames"),
        (Topic.CAMERA_STATUS, "b", "prod.", "prod.camera-status.b"),
        (Topic.DEADLETTER, None, "", "deadletter"),
    ],
)
def test_topic_names(topic: Topic, site: str | None, prefix: str, expected: str) -> None:
    assert topic_name(topic, site, prefix) == expected


def test_shared_topic_ignores_the_site() -> None:
    assert topic_name(Topic.CLIPS, "site-a") == "clips"


@pytest.mark.parametrize("topic", [spec.topic for spec in CATALOGUE if spec.per_site])
@pytest.mark.parametrize("site", [None, ""])
def test_per_site_topic_without_site_raises(topic: Topic, site: str | None) -> None:
    with pytest.raises(ValueError, match=f"topic {topic.value} is per site"):
        topic_name(topic, site)


@pytest.mark.parametrize("topic", [Topic.CAMERA_STATUS, Topic.MODEL_UPDATES])
def test_latest_state_topics_are_compacted(topic: Topic) -> None:
    config = spec_for(topic).config()
    assert config["cleanup.policy"] == "compact"
    assert "retention.ms" not in config


def test_frames_topic_deletes_after_two_hours() -> None:
    assert spec_for(Topic.FRAMES).config() == {
        "max.message.bytes": str(4 * 1024 * 1024),
        "cleanup.policy": "delete",
        "retention.ms": str(2 * 3_600_000),
    }


def test_deadletter_holds_the_largest_record_of_any_topic() -> None:
    deadletter = spec_for(Topic.DEADLETTER).max_message_bytes
    others = [spec.max_message_bytes for spec in CATALOGUE if spec.topic is not Topic.DEADLETTER]
    assert all(deadletter >= limit for limit in others)
    assert deadletter > max(others)  # room for the error headers on top


def test_catalogue_topics_for_two_sites() -> None:
    names = catalogue_topics(["site-a", "site-b"], prefix="t.")
    per_site = [spec for spec in CATALOGUE if spec.per_site]
    shared = [spec for spec in CATALOGUE if not spec.per_site]
    assert len(names) == 2 * len(per_site) + len(shared)
    for spec in per_site:
        assert names[f"t.{spec.topic.value}.site-a"] is spec
        assert names[f"t.{spec.topic.value}.site-b"] is spec
    for spec in shared:
        assert names[f"t.{spec.topic.value}"] is spec
    assert all(name.startswith("t.") for name in names)


def test_catalogue_topics_without_sites_has_only_shared_topics() -> None:
    assert set(catalogue_topics([])) == {spec.topic.value for spec in CATALOGUE if not spec.per_site}


def test_a_site_retention_changes_only_that_sites_own_deleting_topics() -> None:
    retention = {"lobby": SiteRetention(frames_h=0.5, actions_h=24, archive_h=1)}
    topics = catalogue_topics(["lobby", "hall"], "p.", retention)
    assert topics["p.frames.lobby"].config()["retention.ms"] == str(1_800_000)
    assert topics["p.actions.lobby"].config()["retention.ms"] == str(86_400_000)
    assert topics["p.frames.hall"] == spec_for(Topic.FRAMES)
    assert topics["p.labels.lobby"] == spec_for(Topic.LABELS)
    assert topics["p.camera-status.lobby"].config()["cleanup.policy"] == "compact"
