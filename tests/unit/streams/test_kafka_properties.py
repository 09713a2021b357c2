"""Kafka credentials from a librdkafka properties file or the environment: explicit settings win, files are
owner-only, and no settings dump, repr or error message carries the password."""

from __future__ import annotations

import base64
import re
import urllib.parse
from pathlib import Path

import pytest
from pydantic import ValidationError

from processors.settings import ProcessorSettings
from streams.kafka_properties import PropertiesFileError, read_properties, write_properties
from streams.settings import KafkaSettings, StreamsSettings

SECRET = "s3cr3t/pa:ss=word"


def _site_file(tmp_path: Path, **extra: str) -> Path:
    path = tmp_path / "site.properties"
    write_properties(path, {"bootstrap.servers": "kafka:9093", "security.protocol": "SASL_SSL",
                            "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "site-lobby",
                            "sasl.password": SECRET, "ssl.ca.location": "/etc/ca.pem", **extra}, "site lobby")
    return path


def test_a_properties_file_fills_the_connection(tmp_path: Path) -> None:
    kafka = KafkaSettings(properties_file=_site_file(tmp_path))
    assert kafka.connection_properties() == read_properties(tmp_path / "site.properties")
    assert kafka.client_config()["sasl.password"] == SECRET


def test_settings_set_explicitly_win_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__PROPERTIES_FILE", str(_site_file(tmp_path)))
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__BOOTSTRAP_SERVERS", "other:9093")
    kafka = StreamsSettings().kafka
    assert kafka.bootstrap_servers == "other:9093" and kafka.sasl_username == "site-lobby"


def test_a_file_with_unknown_keys_or_bad_lines_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(PropertiesFileError, match=re.escape("unsupported keys sasl.kerberos.keytab")) as unknown:
        KafkaSettings(properties_file=_site_file(tmp_path, **{"sasl.kerberos.keytab": "/k"}))
    broken = tmp_path / "broken.properties"
    broken.write_text(f"sasl.username=site-lobby\n{SECRET}\n")
    with pytest.raises(PropertiesFileError, match=re.escape("broken.properties:2: not a key=value line")) as bad_line:
        KafkaSettings(properties_file=broken)
    assert SECRET not in str(unknown.value) + str(bad_line.value)


def test_an_existing_file_becomes_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "x.properties"
    path.write_text("old\n")
    path.chmod(0o644)
    write_properties(path, {"sasl.password": SECRET}, "x")
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_properties(path) == {"sasl.password": SECRET}


def test_settings_dumps_and_reprs_hide_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a run saves (its resolved settings) or logs (a repr) carries no form of the password."""
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__PROPERTIES_FILE", str(_site_file(tmp_path)))
    roots = [StreamsSettings(), ProcessorSettings()]
    texts = [text for root in roots for text in (root.model_dump_json(), str(root.model_dump(mode="json")),
                                                 repr(root), str(root))]
    assert roots[0].kafka.sasl_password is not None
    forms = {SECRET, urllib.parse.quote(SECRET, safe=""), base64.b64encode(SECRET.encode()).decode()}
    assert not [form for form in forms for text in texts if form in text]


def test_a_settings_error_never_quotes_a_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__SASL_PASSWORD", SECRET)
    bad = _site_file(tmp_path, **{"sasl.kerberos.keytab": "/k"})
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__PROPERTIES_FILE", str(bad))
    with pytest.raises(PropertiesFileError) as bad_file:
        ProcessorSettings()
    monkeypatch.delenv("ACTIONSTREAM_KAFKA__PROPERTIES_FILE")
    monkeypatch.setenv("ACTIONSTREAM_KAFKA__SECURITY_PROTOCOL", "BOGUS")
    with pytest.raises(ValidationError) as bad_value:
        StreamsSettings()
    assert SECRET[:6] not in str(bad_file.value) + str(bad_value.value)
