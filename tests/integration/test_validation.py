"""Bad input is refused with a clear 4xx naming the field, before anything runs: a body that
cannot be parsed or breaks the schema with 400 and JSON `{"message": ...}`, as the original;
a refused dependency with 400 and the text naming it; a name no function has with 404."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import container_of_run, containers_of, wait_warm, warm_containers
from tests.integration.server import Server, make_server

OK = {"code": "echo hi", "lang": "bash"}


@pytest.fixture(scope="module")
def bare(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server without a warm pool: any container of its installation was started by a
    request, so "nothing started" is checked exactly."""
    srv = make_server(tmp_path_factory.mktemp("bare"), RUNNER_POOL_SIZE="0")
    srv.start()
    yield srv
    srv.stop()


def message_of(response: httpx.Response) -> str:
    """The message of a refusal: `message` of a JSON body (then it must be the only key), or
    the text."""
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        assert list(body) == ["message"] and isinstance(body["message"], str), body
        return str(body["message"])
    return response.text


def post(server: Server, body: Any, raw: bytes | None = None) -> tuple[int, str]:
    with server.client() as client:
        if raw is not None:
            response = client.post("/api/code/run", content=raw,
                                   headers={"Content-Type": "application/json"})
        else:
            response = client.post("/api/code/run", json=body)
    return response.status_code, message_of(response)


@pytest.mark.parametrize(
    ("change", "status", "needle"),
    [
        ({"dependencies": ["requests;rm -rf /"]}, 400, "';'"),
        ({"dependencies": ["ok", "bad dep"]}, 400, "' '"),
        ({"dependencies": [""]}, 400, "empty"),
        ({"dependencies": ["--index-url=http://evil"]}, 400, "options are not allowed"),
        ({"dependencies": ["-e"]}, 400, "options are not allowed"),
        ({"files": [{"path": "../x", "content": ""}]}, 400, "files[0].path"),
        ({"files": [{"path": "/etc/x", "content": ""}]}, 400, "relative"),
        ({"files": [{"path": "a/./b", "content": ""}]}, 400, "files[0].path"),
        ({"files": [{"path": "Dockerfile", "content": ""}]}, 400, "not allowed"),
        ({"files": [{"path": "a\\b", "content": ""}]}, 400, "backslash"),
        ({"files": [{"path": "a", "content": "!!!"}]}, 400, "base64"),
        ({"files": [{"path": "a", "content": ""}, {"path": "a/b", "content": ""}]}, 400,
         "under another file"),
        ({"files": [{"path": f"f{i}", "content": ""} for i in range(51)]}, 400, "files"),
        ({"timeout": 4}, 400, "timeout"),
        ({"timeout": 301}, 400, "timeout"),
        ({"mem_limit_mb": 0}, 400, "mem_limit_mb"),
        ({"mem_limit_mb": 2049}, 400, "mem_limit_mb"),
        ({"cpu_limit": 0.05}, 400, "cpu_limit"),
        ({"cpu_limit": 4.5}, 400, "cpu_limit"),
        ({"lang": "cobol"}, 400, "lang"),
        ({"code": 5}, 400, "code"),
        ({"dependencies": "six"}, 400, "dependencies"),
        # Option injection: no entry may reach the package manager as an option.
        ({"dependencies": ["--config=/tmp/x"]}, 400, "options are not allowed"),
        ({"dependencies": ["-r", "requirements.txt"]}, 400, "options are not allowed"),
        ({"dependencies": ["six", "--extra-index-url=http://127.0.0.1/"]}, 400, "options"),
        ({"lang": "python", "dependencies": ["-e."]}, 400, "options are not allowed"),
        ({"lang": "javascript", "dependencies": ["--registry=http://127.0.0.1/"]}, 400,
         "options are not allowed"),
        ({"lang": "bash", "dependencies": ["-o", "APT::Get::AllowUnauthenticated=true"]}, 400,
         "options are not allowed"),
        ({"lang": "go", "dependencies": ["-modfile=/tmp/x"]}, 400, "options are not allowed"),
        ({"lang": "rust", "dependencies": ["serde", "--git=http://127.0.0.1/x"]}, 400,
         "allowed: --features"),
        ({"lang": "rust", "dependencies": ["--config", "x"]}, 400, "options are not allowed"),
        ({"lang": "rust", "dependencies": ["-Fderive"]}, 400, "options are not allowed"),
        ({"dependencies": ["-"]}, 400, "options are not allowed"),
        # Shell metacharacters, one by one.
        ({"dependencies": ["six$(id)"]}, 400, "'$'"),
        ({"dependencies": ["six`id`"]}, 400, "'`'"),
        ({"dependencies": ["six&&id"]}, 400, "'&'"),
        ({"dependencies": ["six|id"]}, 400, "'|'"),
        ({"dependencies": ["six\nid"]}, 400, "'\\n'"),
        ({"dependencies": ["six'"]}, 400, '"\'"'),
        ({"dependencies": ["six\"x"]}, 400, "'\"'"),
        ({"dependencies": ["six*"]}, 400, "'*'"),
        ({"dependencies": ["sïx"]}, 400, "'ï'"),
        # File paths.
        ({"files": [{"path": "a\u0000b", "content": ""}]}, 400, "NUL"),
        ({"files": [{"path": ".", "content": ""}]}, 400, "files[0].path"),
        ({"files": [{"path": "..", "content": ""}]}, 400, "files[0].path"),
        ({"files": [{"path": "a/../../b", "content": ""}]}, 400, "files[0].path"),
        ({"files": [{"path": "a//b", "content": ""}]}, 400, "files[0].path"),
        ({"files": [{"path": "a/", "content": ""}]}, 400, "files[0].path"),
        ({"files": [{"path": "", "content": ""}]}, 400, "empty"),
        ({"files": [{"path": "x" * 300, "content": ""}]}, 400, "longer than"),
        ({"files": [{"path": "a/b", "content": ""}, {"path": "a", "content": ""}]}, 400,
         "lies under"),
        ({"files": [{"path": "a", "content": ""}, {"path": "a", "content": ""}]}, 400, "twice"),
        ({"files": [{"path": "a", "content": "YWJj="}]}, 400, "base64"),
        ({"files": [{"path": "a", "content": "YW Jj"}]}, 400, "base64"),
        # Wrong types.
        ({"timeout": "abc"}, 400, "timeout"),
        ({"timeout": 10.5}, 400, "timeout"),
        ({"cpu_limit": "lots"}, 400, "cpu_limit"),
        ({"mem_limit_mb": None}, 400, "mem_limit_mb"),
        ({"code": None}, 400, "code"),
        ({"stdin": 5}, 400, "stdin"),
        ({"files": {"path": "a", "content": ""}}, 400, "files"),
        ({"files": [{"path": "a"}]}, 400, "files[0].content"),
        ({"dependencies": [1]}, 400, "dependencies[0]"),
        ({"lang": "Python"}, 400, "lang"),
        ({"lang": None}, 400, "lang"),
        ({"timeout": -1}, 400, "timeout"),
        ({"mem_limit_mb": 10**30}, 400, "mem_limit_mb"),
    ],
)
def test_bad_input(bare: Server, change: dict[str, Any], status: int, needle: str) -> None:
    code, text = post(bare, {**OK, **change})
    assert code == status, text
    assert needle in text
    assert containers_of(bare) == []


@pytest.mark.parametrize(
    ("raw", "status", "needle"),
    [
        (b"[]", 400, "body"),
        (b'"code"', 400, "body"),
        (b"null", 400, "body"),
        (b'{"code": "echo", "cpu_limit": NaN, "lang": "bash"}', 400, "cpu_limit"),
        (b'{"code": "echo", "cpu_limit": Infinity, "lang": "bash"}', 400, "cpu_limit"),
        (b'{"code": "\xff\xfe", "lang": "bash"}', 400, "JSON"),
        (b'{"code": "echo"', 400, "JSON"),
        (b"", 400, "body: Field required"),
        (b'{"code": "echo", "code": 5}', 400, "code"),
    ],
)
def test_malformed_bodies(bare: Server, raw: bytes, status: int, needle: str) -> None:
    code, text = post(bare, None, raw=raw)
    assert code == status, text
    assert needle in text
    assert containers_of(bare) == []


def test_oversized_body_is_413(make) -> None:  # type: ignore[no-untyped-def]
    srv = make(RUNNER_MAX_BODY_BYTES="4096", RUNNER_POOL_SIZE="0")
    srv.start()
    body = {**OK, "code": "#" * 5000}
    with srv.client() as client:
        declared = client.post("/api/code/run", json=body)

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b" " * 1000  # no Content-Length: the cap holds on the bytes received

        streamed = client.post("/api/code/run", content=chunks(),
                               headers={"Content-Type": "application/json"})
        assert containers_of(srv) == []
        fits = client.post("/api/code/run", json=OK)
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert "4096 bytes" in response.text
    assert fits.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "needle"),
    [
        ("POST", "/api/function", {"name": "bad name", "language": "python"}, "name"),
        ("POST", "/api/function", {"name": "a" * 51, "language": "python"}, "name"),
        ("POST", "/api/function", {"name": "", "language": "python"}, "name"),
        ("POST", "/api/function", {"name": "ok", "language": "cobol"}, "language"),
        ("POST", "/api/function", {"name": "ok"}, "language"),
        ("POST", "/api/function/okname/run", {"input": "x", "timeout": 1000}, "timeout"),
        ("POST", "/api/function/okname/run/stream", {"input": 5}, "input"),
        ("POST", "/api/function/okname/run", {"timeout": 60}, "input: Field required"),
        ("GET", "/api/function?limit=0", None, "limit"),
        ("GET", "/api/function?offset=-1", None, "offset"),
    ],
)
def test_bad_function_requests(server: Server, method: str, path: str, body: Any,
                               needle: str) -> None:
    with server.client() as client:
        response = client.request(method, path, json=body)
    assert response.status_code == 400, response.text
    assert needle in message_of(response)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/function/fn1/info", None),
        ("GET", "/api/function/bad.name/info", None),
        ("GET", "/api/function/b%20d/detail", None),
        ("POST", "/api/function/bad$name", {"code": "x"}),
        ("POST", "/api/function/fn1/run", {"input": "x"}),
        ("POST", "/api/function/fn1/run/stream", {"input": "x"}),
        ("DELETE", "/api/function/" + "a" * 51, None),
    ],
)
def test_any_unknown_name_is_404(server: Server, method: str, path: str, body: Any) -> None:
    # The original applies no pattern to names in paths: no such function, 404 `Not Found`.
    with server.client() as client:
        response = client.request(method, path, json=body)
    assert (response.status_code, response.text) == (404, "Not Found")


def test_missing_code(server: Server) -> None:
    code, text = post(server, {"lang": "bash"})
    assert code == 400
    assert "code" in text


def test_missing_lang_is_named(server: Server) -> None:
    # The original requires `lang`; a body without it never runs as some default language.
    code, text = post(server, {"code": "print(1)", "language": "python"})
    assert (code, text) == (400, "lang: Field required")


def test_invalid_json(server: Server) -> None:
    code, text = post(server, None, raw=b'{"code": ')
    assert code == 400
    assert "JSON" in text


def test_rust_features_are_allowed(server: Server) -> None:
    """`--features` passes validation for rust (the build itself needs the crate registry)."""
    with server.client() as client, client.stream(
        "POST", "/api/code/run",
        json={"code": "fn main() {}", "lang": "rust",
              "dependencies": ["serde=1.0", "--features", "serde/derive"]},
    ) as response:
        assert response.status_code == 200


def test_nothing_started_for_bad_input(server: Server) -> None:
    used = container_of_run(server.run(OK))  # on its way out after its result
    wait_warm(server, OK["lang"])
    before = set(containers_of(server))
    for bad in ({"dependencies": ["a|b"]}, {"timeout": 1}, {"files": [{"path": "..", "content": ""}]}):
        assert post(server, {**OK, **bad})[0] == 400
    after = set(containers_of(server))
    assert before - after <= {used}  # no warm container was taken
    assert after - before <= set(warm_containers(server, OK["lang"]))  # only pool refills, idle


@pytest.mark.parametrize("pool", [True, False])
def test_cpu_limit_above_the_engines_cpus_is_capped(server: Server, bare: Server,
                                                    pool: bool) -> None:
    """The contract allows 4.0 CPUs; an engine with fewer gets a quota of all of its own
    (found by the OpenAPI fuzz run: the engine refused the quota with a 502)."""
    srv = server if pool else bare
    body = {**OK, "code": "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us", "cpu_limit": 4.0}
    with srv.client() as client:
        response = client.post("/api/code/run", json=body)
    last = [json.loads(line) for line in response.text.splitlines()][-1]
    assert last["event"] == "result", last
    cpus = os.cpu_count() or 1
    assert int(last["data"]["stdout"]) == min(4, cpus) * 100_000


@pytest.mark.parametrize("pool", [True, False])
def test_memory_limit_below_the_engines_minimum_is_raised(server: Server, bare: Server,
                                                          pool: bool) -> None:
    """The contract allows 1 MiB; the engine's minimum is 6 MiB (found by the fuzz run)."""
    srv = server if pool else bare
    body = {**OK, "code": "cat /sys/fs/cgroup/memory/memory.limit_in_bytes", "mem_limit_mb": 1}
    with srv.client() as client:
        response = client.post("/api/code/run", json=body)
    last = [json.loads(line) for line in response.text.splitlines()][-1]
    assert last["event"] == "result", last
    if last["data"]["exit_code"] == 0:
        assert int(last["data"]["stdout"]) == 6 * 1024 * 1024
    else:
        assert last["data"]["oom_killed"] is True


def test_schema_errors_are_json_and_dependency_refusals_text(bare: Server) -> None:
    with bare.client() as client:
        schema = client.post("/api/code/run", json={**OK, "timeout": 4})
        dependency = client.post("/api/code/run", json={**OK, "dependencies": ["a b"]})
    assert schema.status_code == 400 and schema.headers["content-type"] == "application/json"
    assert schema.json() == {"message": schema.json()["message"]}
    assert schema.json()["message"].startswith("timeout: ")
    # The original answers a refused dependency as text, its message naming the entry.
    assert dependency.status_code == 400
    assert dependency.headers["content-type"].startswith("text/plain")
    assert "a b" in dependency.text
