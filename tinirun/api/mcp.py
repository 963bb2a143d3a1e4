"""`/mcp`: the MCP tools over streamable HTTP on the service itself.

The caller shows the service's API key (X-Runner-Api-Key, or `Authorization: Bearer`); the
tools then call the API in-process through the Python client (an ASGI transport, no socket),
so they go through the same checks, queue and errors as any client's calls.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from tinirun_client import AsyncClient

from tinirun.api.auth import check_key, presented_key

PATH = "/mcp"
# The in-process client's origin; requests never leave the process.
LOCAL = "http://tinirun.local"


class McpEndpoint:
    """The MCP session manager behind the API key check.

    The SDK (about 0.8 s of imports: its protocol types are many pydantic models) is loaded,
    and its session manager started, on the first request with the key, not when the service
    starts; `lifespan()` stops the session manager with the service."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.api_key = api_key
        self._app = app
        self._handler: ASGIApp | None = None
        self._starting: asyncio.Lock | None = None
        self._closing: asyncio.Event | None = None
        self._sessions: asyncio.Task[None] | None = None

    def _connect(self) -> AbstractAsyncContextManager[AsyncClient]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self._app), timeout=None)
        return AsyncClient(LOCAL, self.api_key, http=http)

    async def _start(self) -> ASGIApp:
        from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
        from mcp.server.transport_security import TransportSecuritySettings

        from tinirun.mcp import build_server

        server = build_server(self._connect)
        # The key guards the route; a browser on another origin cannot learn it, so the
        # SDK's Host/Origin checks (made for keyless local servers) would only refuse
        # proxies' host names.
        server.streamable_http_app(
            streamable_http_path="/", stateless_http=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        manager = server.session_manager
        running = asyncio.Event()
        closing = self._closing = self._closing or asyncio.Event()

        async def run() -> None:
            async with manager.run():
                running.set()
                await closing.wait()

        self._sessions = asyncio.create_task(run())
        started = asyncio.create_task(running.wait())
        await asyncio.wait({started, self._sessions}, return_when=asyncio.FIRST_COMPLETED)
        if not running.is_set():
            started.cancel()
            await self._sessions  # raises what stopped the session manager
        return StreamableHTTPASGIApp(manager)

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        self._closing = asyncio.Event()
        try:
            yield
        finally:
            self._closing.set()
            if self._sessions is not None:
                with contextlib.suppress(Exception):
                    await self._sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not check_key(self.api_key, presented_key(Headers(scope=scope))):
            body = b"Unauthorized"
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"www-authenticate", b'Bearer realm="tinirun"')]})
            await send({"type": "http.response.body", "body": body})
            return
        if self._handler is None:
            self._starting = self._starting or asyncio.Lock()
            async with self._starting:
                if self._handler is None:
                    self._handler = await self._start()
        await self._handler(scope, receive, send)


def mount_mcp(app: Starlette, api_key: str) -> McpEndpoint:
    """Serve the MCP endpoint at /mcp of `app` (call before the playground's mount at /)."""
    endpoint = McpEndpoint(app, api_key)
    # A Route whose endpoint is an ASGI app (not a function) passes every method to it.
    app.router.routes.append(Route(PATH, endpoint, include_in_schema=False))
    return endpoint
