"""The MCP tools through the SDK's own client, on a real service: streamable HTTP at /mcp
on the service, and `tinirun mcp` on stdio (the command a desktop assistant starts)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, ImageContent, TextContent

from tests.integration.server import API_KEY, Server

README = Path(__file__).resolve().parents[2] / "README.md"


@asynccontextmanager
async def over_http(server: Server, headers: dict[str, str]) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300))
    async with http, Client(streamable_http_client(f"{server.url}/mcp", http_client=http)
                            ) as client:
        yield client


def desktop_config(server: Server) -> dict[str, object]:
    """The README's `mcpServers` entry, with this test's service and key filled in."""
    text = README.read_text()
    start = text.index("```json", text.index("### MCP")) + len("```json")
    entry = json.loads(text[start:text.index("```", start)])["mcpServers"]["tinirun"]
    entry["env"] = {**entry["env"], "TINIRUN_URL": server.url, "TINIRUN_API_KEY": API_KEY}
    return dict(entry)


@asynccontextmanager
async def over_stdio(server: Server) -> AsyncIterator[Client]:
    entry = desktop_config(server)
    # The command as the README writes it, found where this test's package is installed.
    command = str(Path(sys.executable).with_name(str(entry["command"])))
    env = {"PATH": os.environ.get("PATH", ""), **dict(entry["env"])}  # type: ignore[call-overload]
    params = StdioServerParameters(command=command, args=list(entry["args"]),  # type: ignore[call-overload]
                                   env=env)
    async with Client(params) as client:
        yield client


def text_of(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


async def check_tools(client: Client, prefix: str) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert {"run_code", "list_languages", "list_functions", "run_function",
            "create_function", "update_function"} <= set(tools)
    schema = tools["run_code"].input_schema
    assert {"language", "code", "dependencies", "files", "stdin", "args",
            "timeout"} <= set(schema["properties"])
    assert "python" in json.dumps(schema["properties"]["language"])
    assert tools["run_code"].description and "exit code" in tools["run_code"].description

    ran = await client.call_tool("run_code", {
        "language": "python", "code": "import sys\nprint(open('files/in.txt').read())\n"
        "print(input())\nsys.stderr.write('warn\\n')\nsys.exit(3)",
        "files": [{"path": "in.txt", "content": "from a file"}], "stdin": "from stdin\n"})
    assert not ran.is_error, text_of(ran)
    text = text_of(ran)
    assert "exit code: 3" in text and "from a file" in text and "from stdin" in text
    assert "warn" in text

    argv = await client.call_tool("run_code", {
        "language": "python", "code": "import sys; print(sys.argv[1:])",
        "args": ["a b", '"q"', "héllo ✓"]})
    assert """['a b', '"q"', 'héllo ✓']""" in text_of(argv), text_of(argv)

    slow = await client.call_tool("run_code", {"language": "bash", "code": "sleep 30",
                                               "timeout": 5})
    assert "timed out" in text_of(slow)

    # What the service refuses is a tool error with its message; the session goes on.
    refused = await client.call_tool("run_code", {"language": "python", "code": "print(1)",
                                                  "dependencies": ["--index-url=x"]})
    assert refused.is_error and "--index-url=x" in text_of(refused), text_of(refused)
    missing = await client.call_tool("run_function", {"name": f"{prefix}-nope", "input": ""})
    assert missing.is_error and "404" in text_of(missing)

    languages = text_of(await client.call_tool("list_languages", {}))
    assert "## python" in languages and "pip" in languages

    name = f"{prefix}-upper"
    created = await client.call_tool("create_function", {
        "name": name, "language": "python", "description": "shouts",
        "code": "def run(input: str) -> str:\n    return input.upper()\n"})
    assert not created.is_error, text_of(created)
    assert name in text_of(await client.call_tool("list_functions", {}))
    called = await client.call_tool("run_function", {"name": name, "input": "hi"})
    assert "HI" in text_of(called) and "exit code: 0" in text_of(called)
    again = await client.call_tool("create_function", {"name": name, "language": "python"})
    assert again.is_error and "exists" in text_of(again)
    updated = await client.call_tool("update_function", {
        "name": name, "code": "def run(input: str) -> str:\n    return input[::-1]\n"})
    assert not updated.is_error, text_of(updated)
    assert "ih" in text_of(await client.call_tool("run_function", {"name": name,
                                                                   "input": "hi"}))
    broken = await client.call_tool("update_function", {
        "name": name, "code": "def run(input: str) -> str:\n    return input\n",
        "dependencies": ["no-such-package-xyz-123"]})
    assert broken.is_error and "build_failed" in text_of(broken), text_of(broken)


async def test_tools_over_streamable_http(server: Server) -> None:
    async with over_http(server, {"Authorization": f"Bearer {API_KEY}"}) as client:
        await check_tools(client, "http")


async def test_http_wants_the_key(server: Server) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(timeout=30) as http:
        for key in ({}, {"X-Runner-Api-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
            response = await http.post(f"{server.url}/mcp", json=initialize,
                                       headers={**headers, **key})
            assert response.status_code == 401
        ok = await http.post(f"{server.url}/mcp", json=initialize,
                             headers={**headers, "X-Runner-Api-Key": API_KEY})
        assert ok.status_code == 200, ok.text


async def test_tools_over_stdio_with_the_readme_config(server: Server) -> None:
    async with over_stdio(server) as client:
        await check_tools(client, "stdio")


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_an_output_image_is_image_content(server: Server, transport: str) -> None:
    # A PNG written by the standard library alone (no dependency to install).
    code = (
        "import os, struct, zlib\n"
        "def chunk(kind, data):\n"
        "    return struct.pack('>I', len(data)) + kind + data + "
        "struct.pack('>I', zlib.crc32(kind + data))\n"
        "raw = b''.join(b'\\x00' + b'\\xff\\x00\\x00' * 4 for _ in range(4))\n"
        "png = (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 4, 4, 8, 2, 0, 0, 0))"
        " + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))\n"
        "os.makedirs('out', exist_ok=True)\n"
        "open('out/red.png', 'wb').write(png)\n"
        "print('drawn')\n")
    connect = over_http(server, {"X-Runner-Api-Key": API_KEY}) if transport == "http" \
        else over_stdio(server)
    async with connect as client:
        result = await client.call_tool("run_code", {"language": "python", "code": code})
    assert not result.is_error, text_of(result)
    assert "drawn" in text_of(result)
    images = [b for b in result.content if isinstance(b, ImageContent)]
    assert len(images) == 1, result.content
    assert images[0].mime_type == "image/png"
