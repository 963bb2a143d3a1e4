"""/mcp on the service: the SDK is loaded on the first request with the key, not when the
service starts (its imports are most of a start-up), and once however many requests race."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
from starlette.routing import Route

from tinirun.api.app import create_app
from tinirun.api.mcp import PATH, McpEndpoint
from tinirun.config import Config

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "X-Runner-Api-Key": "k"}


def test_making_the_app_does_not_load_the_sdk() -> None:
    code = ("import sys\nfrom tinirun.api.app import create_app\nfrom tinirun.config import Config\n"
            "create_app(Config.from_env({'RUNNER_API_KEY': 'k'}))\n"
            "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'mcp_'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_racing_first_requests_start_one_session_manager() -> None:
    app = create_app(Config.from_env({"RUNNER_API_KEY": "k"}))
    (route,) = [r for r in app.router.routes if isinstance(r, Route) and r.path == PATH]
    endpoint = route.endpoint
    assert isinstance(endpoint, McpEndpoint)
    starts = []
    start = endpoint._start

    async def counted() -> object:
        starts.append(1)
        return await start()

    endpoint._start = counted  # type: ignore[method-assign,assignment]
    async with endpoint.lifespan(), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        refused = await http.post(PATH, json=INITIALIZE, headers={**HEADERS, "X-Runner-Api-Key": "no"})
        assert refused.status_code == 401 and endpoint._sessions is None
        answers = await asyncio.gather(*(http.post(PATH, json=INITIALIZE, headers=HEADERS)
                                         for _ in range(3)))
        assert [a.status_code for a in answers] == [200, 200, 200], answers[0].text
        assert len(starts) == 1
        sessions = endpoint._sessions
        assert sessions is not None and not sessions.done()
    assert sessions.done() and sessions.exception() is None
