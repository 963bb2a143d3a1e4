"""Requests shaped exactly as the original's clients send them, answers read as they read
them: the Rust client (reqwest: JSON lines), the generated Node client (openapi-fetch, whose
fetch sends `Accept: */*`) and the original's demo app (SSE read by an event-source parser).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.integration.server import API_KEY, Server

# What the original's clients take as base URL: the server's `/api`.
RUST_HEADERS = {
    "X-Runner-Api-Key": API_KEY,
    "User-Agent": "tinirun-client/0.1.0",
    "Accept": "application/jsonl",
    "Content-Type": "application/json",
}
FETCH_HEADERS = {"X-Runner-Api-Key": API_KEY, "Accept": "*/*", "Content-Type": "application/json"}
EVENTS = {"info", "debug", "stdout", "stderr", "result", "error"}


def base(server: Server) -> str:
    return f"{server.url}/api"


def read_chunk(value: Any) -> dict[str, Any]:
    """A chunk as the original's clients type it: {event, data} with data fitting the event
    (extra fields are ignored, as serde and TypeScript do)."""
    assert isinstance(value, dict) and set(value) == {"event", "data"}, value
    event, data = value["event"], value["data"]
    assert event in EVENTS, event
    if event in ("info", "debug", "stdout", "stderr"):
        assert isinstance(data, str)
    elif event == "result":
        assert isinstance(data["stdout"], str) and isinstance(data["stderr"], str)
        assert data["exit_code"] is None or isinstance(data["exit_code"], int)
        assert isinstance(data["timeout"], bool)
    else:
        assert data["error"] in ("build_failed", "docker", "function_image_not_found")
        assert isinstance(data["message"], str)
        if data["error"] == "build_failed":
            assert isinstance(data["logs"], str)
        if data["error"] == "function_image_not_found":
            assert isinstance(data["image_tag"], str)
    return value


def json_lines(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """reqwest-streams' json_nl_stream: one JSON value per line."""
    for line in response.iter_lines():
        if line:
            yield read_chunk(json.loads(line))


def event_source(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """eventsource-parser as the demo uses it: events end at a blank line; `data` fields
    join with newlines; comments and other fields are skipped. Each event's data is a chunk."""
    data: list[str] = []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield read_chunk(json.loads("\n".join(data)))
            data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield read_chunk(json.loads("\n".join(data)))


def rust_run_input(code: str, lang: str, **overrides: Any) -> dict[str, Any]:
    """CodeRunnerInput as serde writes it: every field, `None` as null."""
    body = {"code": code, "lang": lang, "dependencies": None, "files": None, "timeout": 60,
            "mem_limit_mb": 256, "cpu_limit": 0.5}
    body.update(overrides)
    return body


def assert_time(value: str) -> None:
    """chrono's DateTime<Utc> reads RFC 3339."""
    assert datetime.fromisoformat(value.replace("Z", "+00:00")).utcoffset() is not None, value


def test_rust_client_run_code(server: Server) -> None:
    body = rust_run_input("import sys\nprint('hi')\nprint('oops', file=sys.stderr)\nsys.exit(2)",
                          "python")
    with httpx.Client(timeout=120) as http, http.stream(
            "POST", f"{base(server)}/code/run", headers=RUST_HEADERS, content=json.dumps(body)
    ) as response:
        assert response.status_code == 200
        chunks = list(json_lines(response))
    assert [c["event"] for c in chunks].count("result") == 1
    assert chunks[-1]["event"] == "result"
    result = chunks[-1]["data"]
    assert (result["stdout"], result["stderr"], result["exit_code"], result["timeout"]) == (
        "hi\n", "oops\n", 2, False)


def test_rust_client_files_and_error_status(server: Server) -> None:
    files = [{"path": "dir/in.txt", "content": "aGVsbG8="}]
    body = rust_run_input("cat files/dir/in.txt", "bash", files=files, dependencies=[])
    with httpx.Client(timeout=120) as http:
        response = http.post(f"{base(server)}/code/run", headers=RUST_HEADERS,
                             content=json.dumps(body))
        assert response.status_code == 200
        chunks = [read_chunk(json.loads(line)) for line in response.text.splitlines() if line]
        assert chunks[-1]["data"]["stdout"] == "hello"
        # Refused: the client reads the status and the body's text as the message.
        bad = http.post(f"{base(server)}/code/run", headers=RUST_HEADERS,
                        content=json.dumps(rust_run_input("x", "python", dependencies=["a b"])))
        assert bad.status_code == 400 and "a b" in bad.text
        unauthorized = http.post(f"{base(server)}/code/run",
                                 headers={**RUST_HEADERS, "X-Runner-Api-Key": "wrong"},
                                 content=json.dumps(rust_run_input("x", "python")))
        assert (unauthorized.status_code, unauthorized.text) == (401, "Unauthorized")


@pytest.mark.parametrize("accept", ["*/*", "text/event-stream", None])
def test_demo_reads_sse_by_default(server: Server, accept: str | None) -> None:
    # openapi-fetch with parseAs "stream" (fetch sends `*/*`), the demo's body (no
    # dependencies, every limit) passed through to an event-source parser: the original's
    # code answers SSE to anything but the NDJSON types.
    body = {"code": "print('demo')", "lang": "python", "timeout": 60, "mem_limit_mb": 256,
            "cpu_limit": 0.5}
    with httpx.Client(timeout=120) as http:
        headers = dict(FETCH_HEADERS)
        if accept is None:
            del http.headers["accept"]
            del headers["Accept"]
        else:
            headers["Accept"] = accept
        with http.stream("POST", f"{base(server)}/code/run", headers=headers,
                         json=body) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            chunks = list(event_source(response))
    assert chunks[0]["event"] == "info"
    assert chunks[-1]["event"] == "result" and chunks[-1]["data"]["stdout"] == "demo\n"


def test_jsonl_when_asked_as_the_rust_client(server: Server) -> None:
    body = rust_run_input("echo rs", "bash")
    with httpx.Client(timeout=120) as http:
        response = http.post(f"{base(server)}/code/run", headers=RUST_HEADERS,
                             content=json.dumps(body))
    assert response.headers["content-type"] == "application/jsonl"
    assert [read_chunk(json.loads(line)) for line in response.text.splitlines()][-1][
        "data"]["stdout"] == "rs\n"


@pytest.mark.parametrize(("change", "field"), [
    ({"timeout": 1}, "timeout"), ({"lang": "cobol"}, "lang"), ({"lang": None}, "lang"),
    ({"mem_limit_mb": 4096}, "mem_limit_mb"),
])
def test_invalid_bodies_are_400_with_a_json_message(server: Server, change: dict[str, Any],
                                                    field: str) -> None:
    body = {**rust_run_input("x", "python"), **change}
    with httpx.Client(timeout=60) as http:
        response = http.post(f"{base(server)}/code/run", headers=RUST_HEADERS,
                             content=json.dumps(body))
        invalid = http.post(f"{base(server)}/code/run", headers=RUST_HEADERS, content=b"{")
        name = http.post(f"{base(server)}/function", headers=FETCH_HEADERS,
                         json={"name": "no way", "language": "python"})
    for answer, named in ((response, field), (invalid, "JSON"), (name, "name")):
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert named in answer.json()["message"]


def test_generated_client_functions_session(server: Server) -> None:
    """Every function route with the generated client's paths, bodies and Accept values."""
    api = base(server)
    name = "compat-fn"
    with httpx.Client(timeout=300) as http:
        with http.stream("POST", f"{api}/function", headers=FETCH_HEADERS,
                         json={"name": name, "language": "python"}) as response:
            assert response.status_code == 200
            build = list(event_source(response))
        assert build[-1]["event"] == "info", build[-3:]

        items = http.get(f"{api}/function", headers=FETCH_HEADERS)
        assert items.status_code == 200
        item = next(i for i in items.json() if i["name"] == name)
        assert set(item) == {"name", "info"}
        info = http.get(f"{api}/function/{name}/info", headers=FETCH_HEADERS).json()
        assert info == item["info"]
        assert info["lang"] == "python" and info["status"]["type"] == "ready"
        assert isinstance(info["status"]["tag"], str) and isinstance(info["status"]["id"], str)
        assert_time(info["created_at"])
        assert_time(info["updated_at"])
        # The original writes version as a string, "0" at creation.
        assert info["version"] == "0"

        # UpdateFunctionInput as serde writes it: optional fields as null.
        update = {"code": "def run(input: str) -> str:\n    return input * 2\n",
                  "description": None, "dependencies": None}
        with http.stream("POST", f"{api}/function/{name}",
                         headers={**RUST_HEADERS}, json=update) as response:
            assert response.status_code == 200
            rebuild = list(json_lines(response))
        assert rebuild[-1]["event"] == "info"
        detail = http.get(f"{api}/function/{name}/detail", headers=FETCH_HEADERS).json()
        assert detail["code"] == update["code"]
        assert detail.get("description") is None and detail.get("dependencies") is None
        assert detail["version"] == "1"

        run_input = {"input": "ab", "timeout": 60, "mem_limit_mb": 256, "cpu_limit": 0.5}
        output = http.post(f"{api}/function/{name}/run",
                           headers={**FETCH_HEADERS, "Accept": "application/json"},
                           json=run_input)
        assert output.status_code == 200
        result = output.json()
        assert (result["stdout"], result["stderr"], result["exit_code"], result["timeout"]) == (
            "abab", "", 0, False)
        with http.stream("POST", f"{api}/function/{name}/run/stream", headers=RUST_HEADERS,
                         json=run_input) as response:
            streamed = list(json_lines(response))
        assert streamed[-1]["data"]["stdout"] == "abab"

        for missing_name in ("no-such-fn", "fn1", "a.b"):  # no pattern on names in paths
            missing = http.get(f"{api}/function/{missing_name}/info", headers=FETCH_HEADERS)
            assert (missing.status_code, missing.text) == (404, "Not Found")
        exists = http.post(f"{api}/function", headers=FETCH_HEADERS,
                           json={"name": name, "language": "python"})
        assert (exists.status_code, exists.text) == (400, "Function already exists")
        assert http.delete(f"{api}/function/{name}", headers=FETCH_HEADERS).status_code == 204


def test_generated_client_operation_ids(server: Server) -> None:
    document = httpx.get(f"{base(server)}/openapi.json", timeout=30).json()
    assert document["servers"] == [{"url": "/api"}]
    operations = {op["operationId"]: (method, path)
                  for path, item in document["paths"].items() for method, op in item.items()}
    assert operations["run_code"] == ("post", "/code/run")
    assert operations["create_function"] == ("post", "/function")
    assert operations["list_functions"] == ("get", "/function")
    assert operations["get_function"] == ("get", "/function/{name}/info")
    assert operations["get_function_detail"] == ("get", "/function/{name}/detail")
    assert operations["update_function"] == ("post", "/function/{name}")
    assert operations["run_function"] == ("post", "/function/{name}/run")
    assert operations["run_function_stream"] == ("post", "/function/{name}/run/stream")
