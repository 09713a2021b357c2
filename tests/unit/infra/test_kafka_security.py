"""The secure broker's configuration, written without running Java: SCRAM listener, authorizer, super user,
TLS from the local CA, a generated password kept owner-only, and a data directory that keeps its mode."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr

from infra.kafka.broker import KafkaBroker
from infra.kafka.security import BrokerSecurity
from infra.process import ServiceError
from infra.settings import BrokerSettings
from streams.kafka_properties import read_properties


def _security(tmp_path: Path, **overrides: object) -> BrokerSecurity:
    settings = BrokerSettings(port=19092, controller_port=19093, state_dir=tmp_path, **overrides)
    tmp_path.mkdir(parents=True, exist_ok=True)
    return BrokerSecurity(settings, tmp_path)


def test_scram_mode_authorizes_every_request_and_names_one_super_user(tmp_path: Path) -> None:
    properties = _security(tmp_path, security="scram").server_properties()
    assert properties["listeners"] == "CLIENT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert properties["listener.security.protocol.map"] == "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    assert properties["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert properties["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert properties["super.users"] == "User:admin"
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert int(properties["connections.max.reauth.ms"]) > 0


def test_plaintext_mode_is_the_open_demo_listener(tmp_path: Path) -> None:
    security = _security(tmp_path)
    assert security.server_properties()["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert security.format_arguments() == [] and security.write_admin_properties() is None
    assert security.admin_properties() == {"bootstrap.servers": "127.0.0.1:19092", "security.protocol": "PLAINTEXT"}


def test_generated_password_is_kept_owner_only_and_reused(tmp_path: Path) -> None:
    first = _security(tmp_path, security="scram")
    password = first.admin_password()
    assert _security(tmp_path, security="scram").admin_password() == password
    assert (tmp_path / "admin.password").stat().st_mode & 0o077 == 0
    admin = read_properties(first.write_admin_properties())
    assert admin["sasl.password"] == password.get_secret_value() and admin["sasl.username"] == "admin"
    assert first.format_arguments()[1] == f"SCRAM-SHA-512=[name=admin,password={password.get_secret_value()}]"


def test_a_configured_password_wins(tmp_path: Path) -> None:
    security = _security(tmp_path, security="scram", admin_password=SecretStr("from-env"))
    assert security.admin_password().get_secret_value() == "from-env"
    assert not (tmp_path / "admin.password").exists()


def test_tls_serves_a_certificate_the_local_ca_signed(tmp_path: Path) -> None:
    security = _security(tmp_path, security="scram", tls=True)
    properties = security.server_properties()
    assert properties["listener.security.protocol.map"].startswith("CLIENT:SASL_SSL,")
    assert properties["listener.name.client.ssl.keystore.type"] == "PEM"
    admin = security.admin_properties()
    assert admin["security.protocol"] == "SASL_SSL"
    server_pem = Path(properties["listener.name.client.ssl.keystore.location"])
    assert server_pem.stat().st_mode & 0o077 == 0
    # The key and chain load as a server identity, and the CA file verifies it.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server_pem)
    ssl.create_default_context(cafile=admin["ssl.ca.location"])


def test_server_properties_file_is_owner_only(tmp_path: Path) -> None:
    broker = KafkaBroker(BrokerSettings(state_dir=tmp_path, security="scram"))
    broker._write_config()
    assert (tmp_path / "server.properties").stat().st_mode & 0o077 == 0


def test_data_formatted_without_a_super_user_cannot_start_secure(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("formatted\n")
    broker = KafkaBroker(BrokerSettings(state_dir=tmp_path, security="scram"))
    with pytest.raises(ServiceError, match="created in plaintext mode, not scram"):
        broker._format_storage()


def test_a_running_broker_is_not_restarted_in_another_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "security.mode").write_text("scram")
    broker = KafkaBroker(BrokerSettings(state_dir=tmp_path))
    monkeypatch.setattr(broker._process, "is_running", lambda: True)
    with pytest.raises(ServiceError, match="runs in scram mode, not plaintext"):
        broker.start()
