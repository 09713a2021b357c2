"""The batched stage 1's subscription: every site's frames topic under the prefix (a pattern), or the listed ones."""

from __future__ import annotations

import re

from processors.selector.stage1 import frames_subscription, stage1_group_id
from processors.settings import ProcessorSettings
from streams.settings import KafkaSettings


def _settings(prefix: str, discovery_s: float) -> ProcessorSettings:
    return ProcessorSettings(kafka=KafkaSettings(topic_prefix=prefix), sites=["site-a", "site-b"],
                             frames_discovery_s=discovery_s)


def test_with_discovery_the_pattern_matches_every_sites_frames_topic_under_the_prefix_only() -> None:
    [pattern] = frames_subscription(_settings("t1a.", 10.0))
    cluster = ["t1a.frames.site-a", "t1a.frames.new-site", "t1a.scored-frames", "t1a.frames.", "t1aXframesXsite",
               "frames.site-a", "u2b.frames.site-a", "x.t1a.frames.site-a"]
    assert [name for name in cluster if re.search(pattern, name)] == ["t1a.frames.site-a", "t1a.frames.new-site"]


def test_without_discovery_the_listed_sites_topics_are_subscribed() -> None:
    assert frames_subscription(_settings("p.", 0.0)) == ["p.frames.site-a", "p.frames.site-b"]


def test_stage1_has_a_group_of_its_own_beside_the_faust_apps() -> None:
    settings = _settings("p.", 0.0)
    assert stage1_group_id("p.", settings.app_id) == "p.actionstream-selector-stage1"
