"""The ACL table: a site reaches only its own topics and group prefix; every platform principal is distinct and
never touches a site-specific resource or creates topics outside its own app's names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from streams.access.acls import (
    Operation,
    Pattern,
    Resource,
    platform_principal,
    platform_principals,
    render_table,
    site_principal,
)
from streams.access.admin import acl_bindings
from streams.access.cli import register
from streams.topics import Topic, spec_for, topic_name


def test_a_site_reaches_only_its_own_topics_and_group_prefix() -> None:
    principal = site_principal("lobby", "prod.")
    assert principal.kafka_principal == "User:site-lobby"
    topics = {grant.name: set(grant.operations) for grant in principal.grants if grant.resource is Resource.TOPIC}
    written = {name for name, operations in topics.items() if Operation.WRITE in operations}
    read = {name for name, operations in topics.items() if Operation.READ in operations}
    assert written == {"prod.frames.lobby", "prod.labels.lobby", "prod.camera-status.lobby"}
    assert read == {"prod.actions.lobby", "prod.incidents.lobby"}
    assert all(grant.pattern is Pattern.LITERAL for grant in principal.grants if grant.resource is Resource.TOPIC)
    groups = [grant for grant in principal.grants if grant.resource is Resource.GROUP]
    assert [(group.pattern, group.name) for group in groups] == [(Pattern.PREFIXED, "prod.site-lobby.")]
    assert not any({Operation.CREATE, Operation.ALL} & set(grant.operations) for grant in principal.grants)


@pytest.mark.parametrize("name", ["", "Lobby", "a.b", "a b", "-x", "x" * 64, "a*"])
def test_site_names_that_would_widen_a_prefix_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="site name"):
        site_principal(name)


def test_platform_principals_are_distinct_and_touch_no_single_site() -> None:
    principals = platform_principals("p.")
    assert len({principal.user for principal in principals}) == len(principals)
    for principal in principals:
        for grant in principal.grants:
            # Per-site topics appear only as the prefix of every site ("p.frames."), never one site's name.
            if grant.resource is Resource.TOPIC and grant.pattern is Pattern.PREFIXED:
                assert grant.name.endswith(".") or grant.name == "p.actionstream-selector", grant
            assert grant.name.startswith(("p.", "actionstream-")), grant
    # Only the selector (Faust) creates topics, and only under its app id.
    creators = [(principal.user, grant.name) for principal in principals for grant in principal.grants
                if {Operation.CREATE, Operation.ALL} & set(grant.operations)]
    assert creators == [("actionstream-selector", "p.actionstream-selector")]


def test_transactional_processes_hold_their_transactional_id_prefix() -> None:
    for user in ("actionstream-classifier", "actionstream-retrain"):
        grants = [grant for grant in platform_principal(user, "p.").grants
                  if grant.resource is Resource.TRANSACTIONAL_ID]
        assert [(grant.pattern, grant.name) for grant in grants] == [(Pattern.PREFIXED, f"p.{user}")]
    with pytest.raises(ValueError, match="no platform principal 'console'"):
        platform_principal("console")


def test_bindings_and_table_have_one_entry_per_operation_and_grant() -> None:
    principal = platform_principal("actionstream-classifier")
    assert len(acl_bindings(principal)) == sum(len(grant.operations) for grant in principal.grants)
    table = render_table((principal,)).splitlines()
    assert len(table) == 2 + len(principal.grants)
    assert "| `User:actionstream-classifier` | transactional-id | prefixed | `actionstream-classifier` |" in table[-1]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_acl_table_command_prints_platform_and_site_rows(app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__TOPIC_PREFIX", "dev.")
    result = CliRunner().invoke(app, ["sites", "acl-table", "--site", "lobby"])
    assert result.exit_code == 0, result.output
    assert "| `User:site-lobby` | topic | literal | `dev.frames.lobby` | write, describe |" in result.output
    assert "| `User:actionstream-drift` | group | prefixed | `actionstream-drift` | read, describe |" in result.output


def test_sites_add_refuses_a_bad_name_before_touching_the_cluster(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sites", "add", "Bad.Name", "--out", str(tmp_path / "x.properties")])
    assert result.exit_code == 2 and "site name" in result.output
    assert not (tmp_path / "x.properties").exists()


# Where each platform principal's process touches topics (the files that name them).
PROCESS_SOURCES = {
    "actionstream-selector": ["processors/selector", "processors/serving.py"],
    "actionstream-classifier": ["processors/classifier_consumer.py", "processors/serving.py"],
    "actionstream-feature-sink": ["processors/features/sink.py"],
    "actionstream-archive": ["processors/archive/sink.py"],
    "actionstream-drift": ["processors/drift/job.py"],
    "actionstream-retrain": ["processors/retrain/worker.py", "processors/retrain/job.py",
                             "processors/retrain/shadow_run.py"],
    "actionstream-rollback": ["processors/retrain/guard.py"],
    "actionstream-console": ["actionstream/console"],
}
_ROOT = Path(__file__).resolve().parents[4]


def _topics_named_in(paths: list[str]) -> set[Topic]:
    files = [file for path in paths for file in
             ((_ROOT / path).rglob("*.py") if (_ROOT / path).is_dir() else [_ROOT / path])]
    names = {match for file in files for match in re.findall(r"Topic\.([A-Z_]+)", file.read_text())}
    return {Topic[name] for name in names}


@pytest.mark.parametrize("user", sorted(PROCESS_SOURCES))
def test_every_topic_a_process_names_is_granted_to_its_principal(user: str) -> None:
    grants = [grant for grant in platform_principal(user).grants if grant.resource is Resource.TOPIC]

    def granted(topic: Topic) -> bool:
        name = topic_name(topic, "any-site") if spec_for(topic).per_site else topic_name(topic)
        return any(name == grant.name if grant.pattern is Pattern.LITERAL else name.startswith(grant.name)
                   for grant in grants)

    assert [topic for topic in _topics_named_in(PROCESS_SOURCES[user]) if not granted(topic)] == []


def test_every_platform_principal_is_checked_against_its_code() -> None:
    assert sorted(PROCESS_SOURCES) == sorted(principal.user for principal in platform_principals())
