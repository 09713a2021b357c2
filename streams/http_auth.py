"""HTTP basic authentication for the endpoints the project serves (every process's /metrics page and the
console) when security is on: one platform credential, from ACTIONSTREAM_HTTP_AUTH__PASSWORD or, better, an
owner-only file named by ACTIONSTREAM_HTTP_AUTH__PASSWORD_FILE. No password configured: the endpoints are open,
as in the plaintext demo.

/healthz and /readyz stay open (an orchestrator probes them without credentials): they answer only "live" and
the names of the readiness checks (model, partitions, broker), nothing about sites, cameras or records.

Basic rather than a bearer token because a browser asks for it by itself (the console) and Prometheus sends it
from a password file (`basic_auth.password_file`), so the secret never sits in its configuration.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REALM = "actionstream"
CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'  # the WWW-Authenticate value of a 401


class HttpAuthSettings(BaseSettings):
    """The platform credential every HTTP endpoint asks for; env ACTIONSTREAM_HTTP_AUTH__USERNAME, __PASSWORD,
    __PASSWORD_FILE."""

    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_HTTP_AUTH__")

    username: str = Field("actionstream", min_length=1, description="User name of the platform credential "
                          "(Prometheus's scrapes, the console's operator view).")
    password: SecretStr | None = Field(None, description="Its password; prefer password_file.")
    password_file: Path | None = Field(None, description="File holding the password (first line; owner-only). "
                                       "Prometheus's scrape configuration points at this file.")

    def secret(self) -> SecretStr | None:
        """The configured password (the file wins over the variable); None or empty: authentication is off."""
        if self.password_file is not None:
            lines = self.password_file.read_text().splitlines()
            value = lines[0].strip() if lines else ""
            return SecretStr(value) if value else None
        if self.password is not None and self.password.get_secret_value():
            return self.password
        return None

    def basic_auth(self) -> BasicAuth | None:
        secret = self.secret()
        return BasicAuth({self.username: secret}) if secret is not None else None


def _digest(value: str) -> bytes:
    # Comparing fixed-length digests keeps the comparison's time independent of the password's length too.
    return hashlib.sha256(value.encode()).digest()


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(user, password) from an `Authorization: Basic ...` header; None when absent or malformed."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


class BasicAuth:
    """Checks basic credentials against a fixed set of users in constant time: every user's digest is compared,
    so neither the answer's time nor its content tells a wrong user from a wrong password."""

    def __init__(self, users: Mapping[str, SecretStr]) -> None:
        if not users:
            raise ValueError("basic authentication needs at least one user")
        self._users = {name: _digest(password.get_secret_value()) for name, password in users.items()}

    def authenticate(self, authorization: str | None) -> str | None:
        """The user an `Authorization` header proves to be, or None."""
        credentials = basic_credentials(authorization)
        if credentials is None:
            return None
        user, password = credentials
        given = _digest(password)
        matched = None
        for name, expected in self._users.items():
            same_name = hmac.compare_digest(_digest(name), _digest(user))
            if hmac.compare_digest(given, expected) and same_name:
                matched = name
        return matched
