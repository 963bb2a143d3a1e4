"""The API key check: header X-Runner-Api-Key, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from fastapi import Security
from fastapi.security import APIKeyHeader

from tinirun.api.deps import ConfigDep

HEADER = "X-Runner-Api-Key"

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
