"""The ACL table: every principal of the platform and of each site, with the least it needs.

A site writes only its own inputs (frames, labels, camera status) and reads only its own outputs (actions,
incidents) under its own consumer-group prefix. Each platform process has its own principal that reads and writes
exactly the topics its code touches, its consumer group(s) and, for the transactional ones, its transactional id.
Group and transactional ids are the processes' defaults (`processors/*settings.py`); an id that starts with the
default (e.g. the classifier's `actionstream-classifier-<host>`) is covered by the prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from streams.topics import Topic, topic_name

SITE_USER_PREFIX = "site-"
# A site name becomes part of topic, group and user names: letters, digits and dashes only.
_SITE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class Resource(StrEnum):
    TOPIC = "topic"
    GROUP = "group"
    TRANSACTIONAL_ID = "transactional-id"


class Pattern(StrEnum):
    LITERAL = "literal"
    PREFIXED = "prefixed"


class Operation(StrEnum):
    READ = "read"
    WRITE = "write"
    DESCRIBE = "describe"
    CREATE = "create"
    ALL = "all"


READ = (Operation.READ, Operation.DESCRIBE)
WRITE = (Operation.WRITE, Operation.DESCRIBE)
READ_WRITE = (Operation.READ, Operation.WRITE, Operation.DESCRIBE)


@dataclass(frozen=True)
class Grant:
    resource: Resource
    pattern: Pattern
    name: str
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class Principal:
    user: str
    role: str
    grants: tuple[Grant, ...]

    @property
    def kafka_principal(self) -> str:
        return f"User:{self.user}"


def check_site_name(site: str) -> str:
    if not _SITE_NAME.match(site):
        raise ValueError(f"site name {site!r}: use lowercase letters, digits and dashes (at most 63)")
    return site


def site_user(site: str) -> str:
    return f"{SITE_USER_PREFIX}{check_site_name(site)}"


def site_group_prefix(site: str, prefix: str = "") -> str:
    """The consumer groups a site may use, e.g. `site-lobby.dashboard`."""
    return f"{prefix}{site_user(site)}."


def _topic(topic: Topic, operations: tuple[Operation, ...], prefix: str, site: str | None = None) -> Grant:
    return Grant(Resource.TOPIC, Pattern.LITERAL, topic_name(topic, site, prefix), operations)


def _every_site(topic: Topic, operations: tuple[Operation, ...], prefix: str) -> Grant:
    """A per-site topic of every site, present and future (`frames.` prefix)."""
    return Grant(Resource.TOPIC, Pattern.PREFIXED, f"{prefix}{topic.value}.", operations)


def _group(name: str) -> Grant:
    return Grant(Resource.GROUP, Pattern.PREFIXED, name, (Operation.READ, Operation.DESCRIBE))


def _transactional_id(name: str) -> Grant:
    return Grant(Resource.TRANSACTIONAL_ID, Pattern.PREFIXED, name, (Operation.WRITE, Operation.DESCRIBE))


def site_principal(site: str, prefix: str = "") -> Principal:
    return Principal(site_user(site), f"site {site}: cameras, labels in; actions, incidents out", (
        _topic(Topic.FRAMES, WRITE, prefix, site),
        _topic(Topic.LABELS, WRITE, prefix, site),
        _topic(Topic.CAMERA_STATUS, WRITE, prefix, site),
        _topic(Topic.ACTIONS, READ, prefix, site),
        _topic(Topic.INCIDENTS, READ, prefix, site),
        _group(site_group_prefix(site, prefix)),
    ))


def platform_principals(prefix: str = "") -> tuple[Principal, ...]:
    """One principal per platform process; the user name is the process's default group id."""
    selector_app = f"{prefix}actionstream-selector"  # Faust: app id = group id = prefix of its own topics
    return (
        Principal("actionstream-selector", "selector workers (stages 1 and 2, Faust)", (
            _every_site(Topic.FRAMES, READ, prefix),
            _topic(Topic.SCORED_FRAMES, READ_WRITE, prefix),
            _topic(Topic.CLIPS, WRITE, prefix),
            _topic(Topic.DEADLETTER, WRITE, prefix),
            _topic(Topic.MODEL_UPDATES, READ, prefix),
            # The changelog, the idle-close ticks and Faust's leader topic, created by the app itself.
            Grant(Resource.TOPIC, Pattern.PREFIXED, selector_app, (Operation.ALL,)),
            _group(selector_app),
        )),
        Principal("actionstream-classifier", "classifier consumers (transactional)", (
            _topic(Topic.CLIPS, READ, prefix),
            _topic(Topic.OUTCOMES, WRITE, prefix),
            _topic(Topic.SHADOW_OUTCOMES, WRITE, prefix),
            _every_site(Topic.ACTIONS, WRITE, prefix),
            _every_site(Topic.INCIDENTS, WRITE, prefix),
            _topic(Topic.CLASSIFIER_STATE, READ_WRITE, prefix),
            _topic(Topic.DEADLETTER, WRITE, prefix),
            _topic(Topic.MODEL_UPDATES, READ, prefix),
            _group("actionstream-classifier"),
            _transactional_id(f"{prefix}actionstream-classifier"),
        )),
        Principal("actionstream-feature-sink", "feature sink (Feast rows)", (
            _topic(Topic.SCORED_FRAMES, READ, prefix),
            _topic(Topic.OUTCOMES, READ, prefix),
            _topic(Topic.DEADLETTER, WRITE, prefix),
            _group("actionstream-feature-sink"),
        )),
        Principal("actionstream-archive", "archive sink (frames kept for retraining)", (
            _topic(Topic.SCORED_FRAMES, READ, prefix),
            _topic(Topic.OUTCOMES, READ, prefix),
            _every_site(Topic.LABELS, READ, prefix),
            _topic(Topic.DEADLETTER, WRITE, prefix),
            _group("actionstream-archive"),
        )),
        Principal("actionstream-drift", "drift job", (
            _topic(Topic.SCORED_FRAMES, READ, prefix),
            _topic(Topic.OUTCOMES, READ, prefix),
            _every_site(Topic.LABELS, READ, prefix),
            _topic(Topic.DRIFT_REPORTS, WRITE, prefix),
            _topic(Topic.RETRAIN_REQUESTS, WRITE, prefix),
            _topic(Topic.RETRAIN_RESULTS, READ, prefix),
            _topic(Topic.MODEL_UPDATES, READ, prefix),
            _topic(Topic.DEADLETTER, WRITE, prefix),
            _group("actionstream-drift"),
        )),
        Principal("actionstream-retrain", "retrain worker (transactional)", (
            _topic(Topic.RETRAIN_REQUESTS, READ, prefix),
            _topic(Topic.RETRAIN_RESULTS, READ_WRITE, prefix),
            _topic(Topic.MODEL_UPDATES, WRITE, prefix),
            _topic(Topic.DEADLETTER, WRITE, prefix),
            # A candidate in shadow is judged on its outcomes against the site's labels.
            _topic(Topic.SHADOW_OUTCOMES, READ, prefix),
            _every_site(Topic.LABELS, READ, prefix),
            _group("actionstream-retrain"),
            _transactional_id(f"{prefix}actionstream-retrain"),
        )),
        Principal("actionstream-rollback", "rollback guard (demotes a promoted model that drifts)", (
            _topic(Topic.DRIFT_REPORTS, READ, prefix),
            _topic(Topic.RETRAIN_RESULTS, READ_WRITE, prefix),  # its own rolled_back record
            _topic(Topic.MODEL_UPDATES, WRITE, prefix),
            _group("actionstream-rollback"),
        )),
        # Reads by explicit assignment; writes only a promotion's model update. The group is never joined, but
        # the client looks up its coordinator, which needs describe on it.
        Principal("actionstream-console", "ops console", (
            _every_site(Topic.CAMERA_STATUS, READ, prefix),
            _every_site(Topic.ACTIONS, READ, prefix),
            _topic(Topic.CLIPS, READ, prefix),
            _topic(Topic.DRIFT_REPORTS, READ, prefix),
            _topic(Topic.RETRAIN_RESULTS, READ, prefix),
            _topic(Topic.MODEL_UPDATES, READ_WRITE, prefix),
            _group("actionstream-console"),
        )),
    )


def platform_principal(name: str, prefix: str = "") -> Principal:
    for principal in platform_principals(prefix):
        if principal.user == name:
            return principal
    known = ", ".join(principal.user for principal in platform_principals(prefix))
    raise ValueError(f"no platform principal {name!r}; known: {known}")


def render_table(principals: tuple[Principal, ...]) -> str:
    """A Markdown table, one row per grant (README, `actionstream sites acl-table`)."""
    lines = ["| principal | resource | pattern | name | operations |", "| --- | --- | --- | --- | --- |"]
    for principal in principals:
        for grant in principal.grants:
            operations = ", ".join(operation.value for operation in grant.operations)
            lines.append(f"| `{principal.kafka_principal}` | {grant.resource.value} | {grant.pattern.value} | "
                         f"`{grant.name}` | {operations} |")
    return "\n".join(lines)
