"""Which topics frames-topic discovery adds: new frames.<site> topics under the prefix, nothing else."""

from __future__ import annotations

from processors.selector.discovery import frames_topics_to_add


def test_new_sites_under_the_prefix_are_added_in_order() -> None:
    cluster = ["p.frames.site-a", "p.frames.site-c", "p.frames.site-b", "p.clips", "p.scored-frames",
               "q.frames.site-x", "frames.site-y", "p.frames.", "p.actionstream-selector-stage2-state-changelog"]
    assert frames_topics_to_add(cluster, ["p.frames.site-a"], "p.") == ["p.frames.site-b", "p.frames.site-c"]


def test_nothing_to_add_when_every_site_is_subscribed() -> None:
    assert frames_topics_to_add(["frames.a", "clips"], ["frames.a"], "") == []
