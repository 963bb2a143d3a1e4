"""The API key check: header X-Runner-Api-Key, compared in constant time.

`ApiKeyMiddleware` checks it in front of the API, before a byte of the body is read: a request
without a valid key gets 401 at once and its connection is closed, so a keyless client
sending large bodies costs the service a header parse, not a body read. The route dependency
`require_api_key` declares the scheme in the OpenAPI document (and checks again).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from fastapi import Security
from fastapi.security import APIKeyHeader
from starlette.types import ASGIApp, Receive, Scope, Send

from tinirun.api.deps import ConfigDep

HEADER = "X-Runner-Api-Key"
# Routes of the API open without the key (paths inside /api).
OPEN_PATHS = frozenset({"/openapi.json", "/docs", "/health"})
OPEN_PREFIXES = ("/docs/",)
UNAUTHORIZED = b"Unauthorized"

api_key_scheme = APIKeyHeader(name=HEADER, auto_error=False, scheme_name="ApiKey")


class UnauthorizedError(Exception):
    """Missing or wrong API key (HTTP 401, body `Unauthorized`)."""


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key in X-Runner-Api-Key, else in `Authorization: Bearer` (as MCP clients and
    Prometheus send it); `headers` with lower-case names (Starlette's are)."""
    key = headers.get(HEADER.lower())
    if key is not None:
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def check_key(expected: str, given: str | None) -> bool:
    return hmac.compare_digest((given or "").encode(), expected.encode())


async def require_api_key(
    config: ConfigDep, given: str | None = Security(api_key_scheme)
) -> None:
    """Route dependency: refuses the request unless it carries the service's key."""
    if not check_key(config.api_key, given):
        raise UnauthorizedError()


def route_path(scope: Scope) -> str:
    """The path inside the mounted API (Starlette keeps the full path and the mount point)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


class ApiKeyMiddleware:
    """Answers 401 `Unauthorized` to a request without the key, before reading its body, and
    closes the connection when a body may follow (so its bytes are never read)."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.expected = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._open(route_path(scope)):
            await self.app(scope, receive, send)
            return
        given = b""
        has_body = False
        for name, value in scope["headers"]:
            if name == b"x-runner-api-key":
                given = value
            elif name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
                has_body = True
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        headers = [(b"content-type", b"text/plain; charset=utf-8"),
                   (b"content-length", str(len(UNAUTHORIZED)).encode())]
        if has_body:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": UNAUTHORIZED})

    @staticmethod
    def _open(path: str) -> bool:
        return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)
