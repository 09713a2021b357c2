"""`actionstream sites ...`: a site's (or a platform process's) SCRAM user, ACLs and properties file.

Run as the super user: `ACTIONSTREAM_KAFKA__PROPERTIES_FILE=var/kafka/admin.properties actionstream sites ...`."""

from __future__ import annotations

import secrets
from pathlib import Path

import typer
from pydantic import SecretStr

from streams.access.acls import (
    Principal,
    platform_principal,
    platform_principals,
    render_table,
    site_group_prefix,
    site_principal,
)
from streams.settings import KafkaSettings, StreamsSettings

sites_app = typer.Typer(help="Sites and platform principals on a secure cluster: users, ACLs, credentials.",
                        no_args_is_help=True)


def _password(password_file: Path | None) -> SecretStr:
    if password_file is None:
        return SecretStr(secrets.token_urlsafe(24))
    password = password_file.read_text().strip()
    if not password:
        raise typer.BadParameter(f"{password_file} is empty", param_hint="--password-file")
    return SecretStr(password)


def _fail(error: Exception) -> None:
    # Admin errors name the resource and the refusal; none of them carries a password.
    typer.secho(f"failed: {error}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def _add(kafka: KafkaSettings, principal: Principal, password: SecretStr, out: Path) -> None:
    from confluent_kafka import KafkaException

    from streams.access.admin import AccessAdmin
    from streams.kafka_properties import write_properties

    try:
        AccessAdmin(kafka).add(principal, password)
    except KafkaException as error:
        _fail(error)
    client = kafka.model_copy(update={"sasl_username": principal.user, "sasl_password": password,
                                      "sasl_mechanism": "SCRAM-SHA-512"})
    write_properties(out, client.connection_properties(), f"{principal.role}: principal {principal.kafka_principal}")
    typer.echo(f"{principal.kafka_principal}: {len(principal.grants)} grants; properties written to {out}")


@sites_app.command("add")
def sites_add(
    name: str = typer.Argument(..., help="Site name (lowercase letters, digits, dashes)."),
    out: Path = typer.Option(..., help="Where to write the site's librdkafka properties file (owner-only)."),
    password_file: Path = typer.Option(None, exists=True, dir_okay=False,
                                       help="Read the site's password from this file; default: a random one."),
    create_topics: bool = typer.Option(True, help="Create the site's topics (a site cannot create topics)."),
) -> None:
    """Create the site's SCRAM user and ACLs (its own topics and group prefix only), write its properties file."""
    from confluent_kafka import KafkaException

    from streams.topics import ensure_topics

    settings = StreamsSettings()
    kafka = settings.kafka
    try:
        principal = site_principal(name, kafka.topic_prefix)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="NAME") from None
    if create_topics:
        try:
            ensure_topics(kafka, [name], retention=settings.retention)
        except KafkaException as error:
            _fail(error)
    _add(kafka, principal, _password(password_file), out)
    typer.echo(f"its consumer groups must start with {site_group_prefix(name, kafka.topic_prefix)}")


@sites_app.command("remove")
def sites_remove(name: str = typer.Argument(..., help="Site name.")) -> None:
    """Revoke the site: its ACLs and SCRAM user are deleted (connected clients lose access)."""
    from confluent_kafka import KafkaException

    from streams.access.admin import AccessAdmin

    kafka = StreamsSettings().kafka
    try:
        user = site_principal(name, kafka.topic_prefix).user
        removal = AccessAdmin(kafka).remove(user)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="NAME") from None
    except KafkaException as error:
        _fail(error)
    if not removal.user_existed and not removal.acl_entries:
        typer.echo(f"User:{user}: no such user and no ACL entries (nothing to revoke)")
        return
    typer.echo(f"User:{user}: {removal.acl_entries} ACL entries and the SCRAM user removed")


@sites_app.command("platform")
def sites_platform(
    out_dir: Path = typer.Option(..., help="Directory for one properties file per principal (<user>.properties)."),
    process: list[str] = typer.Option(None, "--process", help="Only this principal (repeatable); default: all."),
) -> None:
    """Create the platform processes' principals (one per process, least privilege) and their properties files."""
    kafka = StreamsSettings().kafka
    try:
        principals = [platform_principal(name, kafka.topic_prefix) for name in process] if process \
            else list(platform_principals(kafka.topic_prefix))
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--process") from None
    for principal in principals:
        _add(kafka, principal, _password(None), out_dir / f"{principal.user}.properties")


@sites_app.command("acl-table")
def sites_acl_table(
    site: list[str] = typer.Option(None, "--site", help="Also show this site's principal (repeatable)."),
) -> None:
    """Print the ACL table (Markdown): every platform principal, and the given sites'."""
    prefix = StreamsSettings().kafka.topic_prefix
    sites = tuple(site_principal(name, prefix) for name in site or [])
    typer.echo(render_table(platform_principals(prefix) + sites))


def register(app: typer.Typer) -> None:
    app.add_typer(sites_app, name="sites")
