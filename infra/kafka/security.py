"""The local broker's security modes: the open PLAINTEXT listener of the demo, or SASL/SCRAM-SHA-512 (optionally
over TLS) with the StandardAuthorizer, one platform super user and no access without an ACL."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import SecretStr

from infra.kafka.certificates import LocalCertificateAuthority
from infra.settings import BrokerSettings
from streams.kafka_properties import read_properties, write_properties

_MECHANISM = "SCRAM-SHA-512"
_CLIENT_LISTENER = "CLIENT"
_CONTROLLER_LISTENER = "CONTROLLER"
_PASSWORD_FILE = "admin.password"
ADMIN_PROPERTIES_FILE = "admin.properties"
_MODE_FILE = "security.mode"


class BrokerSecurity:
    """Server properties, storage-format arguments and the super user's client properties for one mode."""

    def __init__(self, settings: BrokerSettings, state_dir: Path) -> None:
        self.settings = settings
        self.state_dir = state_dir
        self.secure = settings.security == "scram"
        self.tls = self.secure and settings.tls
        self._authority = LocalCertificateAuthority(state_dir / "tls", settings.host)

    @property
    def mode(self) -> str:
        return "plaintext" if not self.secure else "scram+tls" if self.tls else "scram"

    @property
    def client_protocol(self) -> str:
        if not self.secure:
            return "PLAINTEXT"
        return "SASL_SSL" if self.tls else "SASL_PLAINTEXT"

    def check_data_mode(self, formatted: bool) -> None:
        """A data directory keeps the mode it was formatted in: a super user exists only if formatted with one."""
        mode_file = self.state_dir / _MODE_FILE
        if not formatted:
            mode_file.write_text(self.mode)
            return
        recorded = self.recorded_mode()
        if recorded.startswith("scram") != self.secure:
            raise ValueError(f"the broker data in {self.state_dir} was created in {recorded} mode, not {self.mode}: "
                             "start it in that mode, or `actionstream broker reset` first")
        mode_file.write_text(self.mode)

    def recorded_mode(self) -> str:
        """The mode the broker was last started in."""
        mode_file = self.state_dir / _MODE_FILE
        return mode_file.read_text().strip() if mode_file.exists() else "plaintext"

    def admin_password(self) -> SecretStr:
        """The configured password, else the one generated at first start (kept, owner-only, beside the data)."""
        if self.settings.admin_password is not None:
            return self.settings.admin_password
        stored = self.state_dir / _PASSWORD_FILE
        if not stored.exists():
            write_properties(stored, {"password": secrets.token_urlsafe(24)}, "the broker's super user password")
        return SecretStr(read_properties(stored)["password"])

    def server_properties(self) -> dict[str, str]:
        s = self.settings
        if not self.secure:
            return {
                "listeners": f"PLAINTEXT://{s.host}:{s.port},{_CONTROLLER_LISTENER}://{s.host}:{s.controller_port}",
                "advertised.listeners": f"PLAINTEXT://{s.host}:{s.port}",
                "listener.security.protocol.map": f"PLAINTEXT:PLAINTEXT,{_CONTROLLER_LISTENER}:PLAINTEXT",
            }
        admin, password = s.admin_username, self.admin_password().get_secret_value()
        client = _CLIENT_LISTENER.lower()
        properties = {
            "listeners": f"{_CLIENT_LISTENER}://{s.host}:{s.port},{_CONTROLLER_LISTENER}://{s.host}:{s.controller_port}",
            "advertised.listeners": f"{_CLIENT_LISTENER}://{s.host}:{s.port}",
            # The controller cannot use SCRAM (its credentials live in the metadata it serves): SASL/PLAIN on
            # loopback with the super user, so nobody else can speak to the controller either.
            "listener.security.protocol.map": f"{_CLIENT_LISTENER}:{self.client_protocol},"
                                              f"{_CONTROLLER_LISTENER}:SASL_PLAINTEXT",
            "inter.broker.listener.name": _CLIENT_LISTENER,
            "sasl.enabled.mechanisms": _MECHANISM,
            "sasl.mechanism.inter.broker.protocol": _MECHANISM,
            "sasl.mechanism.controller.protocol": "PLAIN",
            f"listener.name.{client}.sasl.enabled.mechanisms": _MECHANISM,
            f"listener.name.{client}.scram-sha-512.sasl.jaas.config":
                f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{admin}" '
                f'password="{password}";',
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config":
                f'org.apache.kafka.common.security.plain.PlainLoginModule required username="{admin}" '
                f'password="{password}" user_{admin}="{password}";',
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{admin}",
            "allow.everyone.if.no.acl.found": "false",
            # Sessions end at re-authentication: a removed user's open connections are closed then.
            "connections.max.reauth.ms": str(s.reauth_ms),
        }
        if self.tls:
            certificate = self._authority.ensure()
            properties |= {
                f"listener.name.{client}.ssl.keystore.type": "PEM",
                f"listener.name.{client}.ssl.keystore.location": str(certificate.server_pem),
                f"listener.name.{client}.ssl.truststore.type": "PEM",
                f"listener.name.{client}.ssl.truststore.location": str(certificate.ca_pem),
            }
        return properties

    def format_arguments(self) -> list[str]:
        """The super user's SCRAM credential, written into the metadata log when storage is formatted."""
        if not self.secure:
            return []
        password = self.admin_password().get_secret_value()
        return ["--add-scram", f"{_MECHANISM}=[name={self.settings.admin_username},password={password}]"]

    def admin_properties(self) -> dict[str, str]:
        """librdkafka properties of the super user (also what `sites add` and `topics create` connect with)."""
        properties = {"bootstrap.servers": self.settings.bootstrap_servers, "security.protocol": self.client_protocol}
        if self.secure:
            properties |= {"sasl.mechanism": _MECHANISM, "sasl.username": self.settings.admin_username,
                           "sasl.password": self.admin_password().get_secret_value()}
        if self.tls:
            properties["ssl.ca.location"] = str(self._authority.ca_pem)
        return properties

    def write_admin_properties(self) -> Path | None:
        path = self.state_dir / ADMIN_PROPERTIES_FILE
        if not self.secure:
            path.unlink(missing_ok=True)
            return None
        write_properties(path, self.admin_properties(), "the broker's super user: keep it to operators")
        return path
