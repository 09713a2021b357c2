"""Who is looking at the console: with security on, every path but the health checks asks for basic
credentials; the platform credential (ACTIONSTREAM_HTTP_AUTH__*) sees every site, a site's credential
(ACTIONSTREAM_CONSOLE__SITE_PASSWORDS, user name = site name) sees only that site. Security off (no credential
configured): everyone is the operator, as in the plaintext demo."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import SecretStr
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from streams.http_auth import CHALLENGE, BasicAuth

OPEN_PATHS = frozenset({"/healthz", "/readyz"})  # probes without credentials; they name checks only
# Every site's data in one answer (Prometheus's pages and charts) or a platform action: not for a site's user.
OPERATOR_PATHS = ("/metrics", "/api/charts", "/api/models/promote")
VIEWER_KEY = "actionstream.viewer"  # where the middleware leaves the viewer in the request scope


@dataclass(frozen=True)
class Viewer:
    user: str
    site: str | None  # None: the platform operator

    def sees(self, site: str | None) -> bool:
        """Whether a record of `site` may be shown; records of no site (model updates) are platform-wide."""
        return self.site is None or site is None or site == self.site


OPERATOR = Viewer("operator", None)


class ConsoleAccess:
    def __init__(self, operator_user: str, operator_password: SecretStr | None,
                 site_passwords: dict[str, SecretStr]) -> None:
        users = {site: password for site, password in site_passwords.items() if password.get_secret_value()}
        if operator_password is not None:
            users[operator_user] = operator_password
        if operator_user in site_passwords:
            raise ValueError(f"site {operator_user!r} has the platform user's name")
        self._operator_user = operator_user
        self._auth = BasicAuth(users) if users else None

    @property
    def enabled(self) -> bool:
        return self._auth is not None

    def viewer(self, authorization: str | None) -> Viewer | None:
        """The viewer these credentials prove; None: refused (security on and no valid credential)."""
        if self._auth is None:
            return OPERATOR
        user = self._auth.authenticate(authorization)
        if user is None:
            return None
        return Viewer(user, None if user == self._operator_user else user)


def viewer_of(connection: HTTPConnection) -> Viewer:
    return connection.scope.get(VIEWER_KEY, OPERATOR)


class RequireLogin:
    """ASGI middleware: the viewer into the scope, or a 401 with the basic challenge (the browser asks)."""

    def __init__(self, app: ASGIApp, access: ConsoleAccess) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        viewer = self.access.viewer(HTTPConnection(scope).headers.get("authorization"))
        if viewer is None:
            await _refuse(send, 401, {"error": "authentication required"}, (b"www-authenticate", CHALLENGE.encode()))
            return
        if viewer.site is not None and scope["path"].startswith(OPERATOR_PATHS):
            await _refuse(send, 403, {"error": "this page covers every site: the platform's credential only"})
            return
        scope[VIEWER_KEY] = viewer
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, document: dict[str, str], *extra: tuple[bytes, bytes]) -> None:
    body = json.dumps(document).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]})
    await send({"type": "http.response.body", "body": body})
