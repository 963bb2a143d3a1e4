"""The asyncio client: `AsyncClient` and the `AsyncChunkStream` its streaming calls return.
It mirrors `Client` call for call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import Any

import httpx

from tinirun_client import _request as rq
from tinirun_client._chunks import AnyChunk, RunResult, parse_chunk
from tinirun_client._exceptions import ProtocolError, error_for, transport_error
from tinirun_client._functions import FunctionDetail, FunctionInfo, FunctionListItem
from tinirun_client._json import list_of, parse_json
from tinirun_client._languages import LanguageInfo

_ITEMS = list_of(FunctionListItem.from_json)
_LANGUAGES = list_of(LanguageInfo.from_json)


class AsyncChunkStream:
    """The chunks of one streamed call, in order and typed, for `async for`.

    The request is sent on `async with` (or on the first `anext`), so an error answer
    raises there. Iterating it again goes on where the last loop stopped. The connection
    closes at the end of the stream, on `aclose()` or when the `async with` block exits;
    hanging up early stops the run on the service.
    """

    def __init__(self, http: httpx.AsyncClient, request: httpx.Request) -> None:
        self._http = http
        self._request = request
        self._response: httpx.Response | None = None
        self._lines: AsyncIterator[str] | None = None
        self._closed = False

    async def __aenter__(self) -> AsyncChunkStream:
        await self._open()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Hang up (the service stops the run) and release the connection."""
        self._closed = True
        if self._response is not None:
            await self._response.aclose()

    async def _open(self) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the stream is closed")
        if self._response is None:
            try:
                response = await self._http.send(self._request, stream=True)
            except httpx.TransportError as exc:
                raise transport_error(exc, str(self._request.url)) from exc
            if response.status_code >= 400:
                try:
                    await response.aread()
                finally:
                    await response.aclose()
                raise error_for(response)
            self._response = response
        return self._response

    def __aiter__(self) -> AsyncChunkStream:
        return self

    async def __anext__(self) -> AnyChunk:
        if self._closed:
            raise StopAsyncIteration
        if self._lines is None:
            self._lines = (await self._open()).aiter_lines()
        try:
            while True:
                line = await anext(self._lines)
                if line.strip():
                    return parse_chunk(line)
        except StopAsyncIteration:
            await self.aclose()
            raise
        except httpx.TransportError as exc:
            await self.aclose()
            raise transport_error(exc, str(self._request.url)) from exc

    async def result(self) -> RunResult:
        """Read the rest of a run's stream and return its result; RunError when it ended
        with an `error` chunk."""
        outcome = rq.Outcome()
        async for chunk in self:
            outcome.see(chunk)
        return outcome.result()


class AsyncClient:
    """A client of a tinirun service for asyncio; the same calls as `Client`, awaited.

        async with AsyncClient("http://127.0.0.1:8082", api_key="secret") as client:
            async with client.run_code_stream("print(6 * 7)", lang="python") as chunks:
                async for chunk in chunks:
                    print(chunk.event, chunk.data)
    """

    def __init__(self, url: str | None = None, api_key: str | None = None, *,
                 timeout: float | httpx.Timeout | None = rq.DEFAULT_TIMEOUT,
                 http: httpx.AsyncClient | None = None) -> None:
        self.url = rq.api_url(url)
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._headers = rq.headers(rq.api_key(api_key))

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- plumbing -----------------------------------------------------------------------------

    def _build(self, method: str, path: str, *, json: Any = None,
               params: dict[str, int] | None = None, accept: str | None = None) -> httpx.Request:
        headers = dict(self._headers)
        if accept:
            headers["Accept"] = accept
        return self._http.build_request(method, self.url + path, json=json, params=params,
                                        headers=headers)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        request = self._build(method, path, **kwargs)
        try:
            response = await self._http.send(request)
        except httpx.TransportError as exc:
            raise transport_error(exc, str(request.url)) from exc
        if response.status_code >= 400:
            raise error_for(response)
        return response

    def _stream(self, path: str, body: dict[str, Any]) -> AsyncChunkStream:
        return AsyncChunkStream(self._http, self._build("POST", path, json=body, accept=rq.NDJSON))

    # --- one-off runs -------------------------------------------------------------------------

    def run_code_stream(
        self, code: str, lang: str | None = None, *, dependencies: Iterable[str] | None = None,
        files: rq.Files | None = None, timeout: int | None = None,
        mem_limit_mb: int | None = None, cpu_limit: float | None = None,
        stdin: str | None = None, args: Iterable[str] | None = None,
        output_globs: Iterable[str] | None = None,
    ) -> AsyncChunkStream:
        """Run `code` (POST /code/run) and stream its chunks; see `Client.run_code_stream`."""
        body = rq.run_body(code, lang, dependencies, files, timeout, mem_limit_mb, cpu_limit,
                           stdin, args, output_globs)
        return self._stream("/code/run", body)

    async def run_code(
        self, code: str, lang: str | None = None, *, dependencies: Iterable[str] | None = None,
        files: rq.Files | None = None, timeout: int | None = None,
        mem_limit_mb: int | None = None, cpu_limit: float | None = None,
        stdin: str | None = None, args: Iterable[str] | None = None,
        output_globs: Iterable[str] | None = None,
    ) -> RunResult:
        """Run `code` and return its result; see `Client.run_code`."""
        async with self.run_code_stream(code, lang, dependencies=dependencies, files=files,
                                        timeout=timeout, mem_limit_mb=mem_limit_mb,
                                        cpu_limit=cpu_limit, stdin=stdin, args=args,
                                        output_globs=output_globs) as stream:
            return await stream.result()

    # --- functions ----------------------------------------------------------------------------

    async def list_functions(self, offset: int = 0, limit: int | None = None
                             ) -> list[FunctionListItem]:
        """Every function by name (from `offset`, at most `limit`)."""
        response = await self._send("GET", "/function", params=rq.list_params(offset, limit))
        return parse_json(_ITEMS, response.content)

    async def get_function(self, name: str) -> FunctionInfo:
        """The function's info and status; NotFoundError when there is none."""
        response = await self._send("GET", f"/function/{rq.quote(name)}/info")
        return parse_json(FunctionInfo.from_json, response.content)

    async def get_function_detail(self, name: str) -> FunctionDetail:
        """The function's info with its code and dependencies."""
        response = await self._send("GET", f"/function/{rq.quote(name)}/detail")
        return parse_json(FunctionDetail.from_json, response.content)

    def create_function_stream(self, name: str, language: str, *, code: str | None = None,
                               description: str | None = None,
                               dependencies: Iterable[str] | None = None) -> AsyncChunkStream:
        """Create a function — with `code`, else its language's sample — and stream the
        image build."""
        body = rq.create_body(name, language, code, description, dependencies)
        return self._stream("/function", body)

    async def create_function(self, name: str, language: str, *, code: str | None = None,
                          description: str | None = None,
                          dependencies: Iterable[str] | None = None) -> FunctionInfo:
        """Create a function (with `code`, else its language's sample), wait for its build
        and return its info (RunError when the build failed)."""
        await self._wait_built(self.create_function_stream(
            name, language, code=code, description=description, dependencies=dependencies))
        return await self.get_function(name)

    def update_function_stream(self, name: str, code: str, *, description: str | None = None,
                               dependencies: Iterable[str] | None = None) -> AsyncChunkStream:
        """Replace the function's code, description and dependencies; stream the rebuild."""
        body = rq.update_body(code, description, dependencies)
        return self._stream(f"/function/{rq.quote(name)}", body)

    async def update_function(self, name: str, code: str, *, description: str | None = None,
                              dependencies: Iterable[str] | None = None) -> FunctionInfo:
        """Update a function, wait for its rebuild and return its info."""
        await self._wait_built(self.update_function_stream(
            name, code, description=description, dependencies=dependencies))
        return await self.get_function(name)

    async def delete_function(self, name: str) -> None:
        """Remove the function and its images (an extension of the original's API)."""
        await self._send("DELETE", f"/function/{rq.quote(name)}")

    async def run_function(
            self, name: str, input: str = "", *, timeout: int | None = None,
                           mem_limit_mb: int | None = None, cpu_limit: float | None = None
                           ) -> RunResult:
        """Run the function with `input` on its standard input and return the result."""
        body = rq.function_run_body(input, timeout, mem_limit_mb, cpu_limit)
        response = await self._send("POST", f"/function/{rq.quote(name)}/run", json=body)
        return parse_json(RunResult.from_json, response.content)

    def run_function_stream(self, name: str, input: str = "", *, timeout: int | None = None,
                            mem_limit_mb: int | None = None, cpu_limit: float | None = None
                            ) -> AsyncChunkStream:
        """Run the function and stream its chunks."""
        body = rq.function_run_body(input, timeout, mem_limit_mb, cpu_limit)
        return self._stream(f"/function/{rq.quote(name)}/run/stream", body)

    # --- the service --------------------------------------------------------------------------

    async def languages(self) -> list[LanguageInfo]:
        """The languages the service runs, with their runtime versions (GET /languages)."""
        response = await self._send("GET", "/languages")
        return parse_json(_LANGUAGES, response.content)

    async def health(self) -> dict[str, Any]:
        """The service's health (GET /health, needs no key): `status` ok or unavailable, and
        whether its `engine` and `store` answer. A 503 is an answer here, not an error."""
        request = self._build("GET", "/health")
        try:
            response = await self._http.send(request)
        except httpx.TransportError as exc:
            raise transport_error(exc, str(request.url)) from exc
        if response.status_code not in (200, 503):
            raise error_for(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProtocolError("the health answer is not a JSON object")
        return body

    async def openapi(self) -> dict[str, Any]:
        """The service's OpenAPI document (needs no key)."""
        document = (await self._send("GET", "/openapi.json")).json()
        if not isinstance(document, dict):
            raise ProtocolError("the OpenAPI document is not an object")
        return document

    @staticmethod
    async def _wait_built(stream: AsyncChunkStream) -> str:
        outcome = rq.Outcome()
        async with stream:
            async for chunk in stream:
                outcome.see(chunk)
        return outcome.built()
