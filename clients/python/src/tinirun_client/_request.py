"""What the sync and async clients share: settings from the environment, request bodies and
the reading of a stream's final chunk. No I/O here."""

from __future__ import annotations

import base64
import os
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from tinirun_client._chunks import AnyChunk, ErrorChunk, InfoChunk, ResultChunk, RunResult
from tinirun_client._exceptions import ProtocolError, RunError
from tinirun_client._version import __version__

URL_ENV = "TINIRUN_URL"
API_KEY_ENV = "TINIRUN_API_KEY"
# The service's own key variable: a client on the service's machine may share it.
SERVER_API_KEY_ENV = "RUNNER_API_KEY"
DEFAULT_URL = "http://127.0.0.1:8082"
NDJSON = "application/x-ndjson"
# Reads wait long: a silent program may run for minutes and builds may be slow to start.
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)

Files = Mapping[str, bytes | str]


def api_url(url: str | None) -> str:
    """The API's root for `url` (the service's root or its `/api`); default: $TINIRUN_URL,
    else http://127.0.0.1:8082."""
    root = (url or os.environ.get(URL_ENV) or DEFAULT_URL).strip().rstrip("/")
    if "://" not in root:
        root = f"http://{root}"
    return root if root.endswith("/api") else f"{root}/api"


def api_key(key: str | None) -> str | None:
    """`key`, else $TINIRUN_API_KEY, else $RUNNER_API_KEY; None when none is set."""
    return key or os.environ.get(API_KEY_ENV) or os.environ.get(SERVER_API_KEY_ENV) or None


def quote(name: str) -> str:
    """A function name as one path segment."""
    return urllib.parse.quote(name, safe="")


def headers(key: str | None) -> dict[str, str]:
    out = {"User-Agent": f"tinirun-client/{__version__}", "Accept": "application/json"}
    if key:
        out["X-Runner-Api-Key"] = key
    return out


def _limits(timeout: int | None, mem_limit_mb: int | None, cpu_limit: float | None
            ) -> dict[str, Any]:
    given = {"timeout": timeout, "mem_limit_mb": mem_limit_mb, "cpu_limit": cpu_limit}
    return {k: v for k, v in given.items() if v is not None}


def encode_files(files: Files | None) -> list[dict[str, str]] | None:
    """`{path: content}` as the API's `[{path, content (base64)}]`."""
    if files is None:
        return None
    out = []
    for path, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        out.append({"path": path, "content": base64.b64encode(data).decode()})
    return out


def run_body(
    code: str, lang: str | None, dependencies: Iterable[str] | None, files: Files | None,
    timeout: int | None, mem_limit_mb: int | None, cpu_limit: float | None, stdin: str | None,
    args: Iterable[str] | None = None, output_globs: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Body of POST /code/run; what is None is left out, so the service's defaults apply."""
    body: dict[str, Any] = {"code": code}
    if args is not None:
        body["args"] = list(args)
    if output_globs is not None:
        body["output_globs"] = list(output_globs)
    if lang is not None:
        body["lang"] = lang
    if dependencies is not None:
        body["dependencies"] = list(dependencies)
    if files is not None:
        body["files"] = encode_files(files)
    if stdin is not None:
        body["stdin"] = stdin
    body.update(_limits(timeout, mem_limit_mb, cpu_limit))
    return body


def function_run_body(input: str, timeout: int | None, mem_limit_mb: int | None,
                      cpu_limit: float | None) -> dict[str, Any]:
    return {"input": input, **_limits(timeout, mem_limit_mb, cpu_limit)}


def create_body(name: str, language: str, code: str | None, description: str | None,
                dependencies: Iterable[str] | None) -> dict[str, Any]:
    """Body of POST /function; without `code` the service starts from the language's sample."""
    body: dict[str, Any] = {"name": name, "language": language}
    given = {"code": code, "description": description,
             "dependencies": None if dependencies is None else list(dependencies)}
    body.update({k: v for k, v in given.items() if v is not None})
    return body


def update_body(code: str, description: str | None, dependencies: Iterable[str] | None
                ) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code}
    if description is not None:
        body["description"] = description
    if dependencies is not None:
        body["dependencies"] = list(dependencies)
    return body


def list_params(offset: int, limit: int | None) -> dict[str, int]:
    params = {"offset": offset} if offset else {}
    if limit is not None:
        params["limit"] = limit
    return params


class Outcome:
    """Follows a stream's chunks to its end: a run's result, or a build's last word.

    An `error` chunk is the last one, but the stream is read to its end before RunError is
    raised: the service closes a build's stream only once the function's status is stored.
    """

    def __init__(self) -> None:
        self.last: AnyChunk | None = None

    def see(self, chunk: AnyChunk) -> None:
        self.last = chunk

    def result(self) -> RunResult:
        self._raise_error()
        if isinstance(self.last, ResultChunk):
            return self.last.data
        raise ProtocolError(f"the stream ended without a result (last chunk: {self._last()})")

    def built(self) -> str:
        """The build's last `info` line (it ends with one, or with an `error` chunk)."""
        self._raise_error()
        if isinstance(self.last, InfoChunk):
            return self.last.data
        raise ProtocolError(f"the build stream ended unexpectedly (last chunk: {self._last()})")

    def _raise_error(self) -> None:
        if isinstance(self.last, ErrorChunk):
            raise RunError(self.last.data)

    def _last(self) -> str:
        return "none" if self.last is None else self.last.event.value
