"""Functions on a real engine, on both stores (embedded SQLite and a real Redis)."""

from __future__ import annotations

import concurrent.futures
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import RedisServer, free_port
from tests.integration.conftest import container_exists, containers_of
from tests.integration.server import Server, make_server, result_of
from tinirun.languages import all_languages

SAMPLE_INPUT = "tinirun"
UPDATED = {
    "python": "import six\n\ndef run(input: str) -> str:\n    return input.upper() + six.__version__\n",
    "javascript": "export async function run(input) {\n  return input.split('').reverse().join('');\n}\n",
}
EXPECTED = {"python": "HELLO1.16.0", "javascript": "olleh"}
DEPENDENCIES = {"python": ["six==1.16.0"], "javascript": []}


@pytest.fixture(scope="module", params=["embedded", "redis"])
def fn_server(request: pytest.FixtureRequest, engine_ready: None,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A service on each store; the Redis one on a redis-server of its own."""
    redis: RedisServer | None = None
    env: dict[str, str] = {}
    if request.param == "redis":
        redis = RedisServer(free_port())
        redis.start()
        env["RUNNER_REDIS_URL"] = redis.url
    srv = make_server(tmp_path_factory.mktemp(f"fn-{request.param}"), **env)
    srv.start()
    yield srv
    srv.stop()
    if redis is not None:
        redis.stop()


def stream(server: Server, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    return server.stream(path, body)


def create(server: Server, name: str, language: str) -> list[dict[str, Any]]:
    return stream(server, "/api/function", {"name": name, "language": language})


def info(server: Server, name: str) -> dict[str, Any]:
    with server.client() as client:
        response = client.get(f"/api/function/{name}/info")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def run(server: Server, name: str, text: str, **limits: Any) -> httpx.Response:
    with server.client() as client:
        return client.post(f"/api/function/{name}/run", json={"input": text, **limits})


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


@pytest.mark.parametrize("lang", ["python", "javascript"])
def test_full_lifecycle(fn_server: Server, lang: str) -> None:
    name = f"life-{lang}"
    chunks = create(fn_server, name, lang)
    assert chunks[-1]["event"] == "info" and "ready" in chunks[-1]["data"], chunks[-3:]
    first = info(fn_server, name)
    assert first["lang"] == lang
    assert first["version"] == "0"  # a string from "0", as the original writes it
    assert first["status"]["type"] == "ready"
    assert first["created_at"].endswith("Z")
    v1_tag = first["status"]["tag"]

    with fn_server.client() as client:
        detail = client.get(f"/api/function/{name}/detail").json()
        listed = client.get("/api/function").json()
    assert "def run" in detail["code"] or "function run" in detail["code"]
    assert {"name": name, "info": first} in listed

    response = run(fn_server, name, "tinirun")
    assert response.status_code == 200, response.text
    assert response.json()["stdout"] == "Hello, tinirun!"

    chunks = stream(fn_server, f"/api/function/{name}",
                    {"code": UPDATED[lang], "description": "updated",
                     "dependencies": DEPENDENCIES[lang]})
    assert chunks[-1]["event"] == "info", chunks[-3:]
    second = info(fn_server, name)
    assert second["version"] == "1"
    assert second["description"] == "updated"
    assert second["status"]["type"] == "ready"
    with fn_server.client() as client:
        detail = client.get(f"/api/function/{name}/detail").json()
    assert detail["code"] == UPDATED[lang]
    assert detail["dependencies"] == (" ".join(DEPENDENCIES[lang]) or None)

    result = run(fn_server, name, "hello").json()
    assert result["stdout"] == EXPECTED[lang]
    assert result["exit_code"] == 0
    streamed = stream(fn_server, f"/api/function/{name}/run/stream", {"input": "hello"})
    assert result_of(streamed)["stdout"] == EXPECTED[lang]
    # The old version's image goes once the new one is ready.
    assert not image_exists(v1_tag)

    with fn_server.client() as client:
        assert client.delete(f"/api/function/{name}").status_code == 204
        assert client.get(f"/api/function/{name}/info").status_code == 404
        assert client.delete(f"/api/function/{name}").status_code == 404
    assert not image_exists(second["status"]["tag"])


def test_exception_gives_stderr_and_nonzero_exit(fn_server: Server) -> None:
    name = "raises"
    create(fn_server, name, "python")
    stream(fn_server, f"/api/function/{name}",
           {"code": "def run(input: str) -> str:\n    raise ValueError('bad input')\n"})
    result = run(fn_server, name, "x").json()
    assert result["exit_code"] != 0
    assert "ValueError: bad input" in result["stderr"]


def test_failed_build_sets_error(fn_server: Server) -> None:
    name = "broken-go"
    create(fn_server, name, "go")
    chunks = stream(fn_server, f"/api/function/{name}",
                    {"code": "package main\n\nfunc run(input string) (string, error) {\n  return 1\n}\n"})
    assert chunks[-1]["event"] == "error"
    assert chunks[-1]["data"]["error"] == "build_failed"
    status = info(fn_server, name)["status"]
    assert status["type"] == "error"
    assert status["error"] == "build_failed"
    assert "not enough return values" in status["logs"]
    response = run(fn_server, name, "x")
    assert response.status_code == 400
    assert response.text == "Function not ready"


def test_missing_dependency_fails_the_build(fn_server: Server) -> None:
    name = "nodep"
    create(fn_server, name, "python")
    chunks = stream(fn_server, f"/api/function/{name}",
                    {"code": "def run(input):\n    return input\n",
                     "dependencies": ["tinirun-no-such-package-xyz==0.0.1"]})
    assert chunks[-1]["event"] == "error"
    assert info(fn_server, name)["status"]["type"] == "error"


def test_errors_of_the_routes(fn_server: Server) -> None:
    with fn_server.client() as client:
        missing = client.get("/api/function/nope/info")
        assert (missing.status_code, missing.text) == (404, "Not Found")
        assert client.get("/api/function/nope/detail").status_code == 404
        assert client.post("/api/function/nope/run", json={"input": ""}).status_code == 404
        assert client.post("/api/function/nope", json={"code": "x"}).status_code == 404
        bad = client.post("/api/function", json={"name": "no spaces!", "language": "python"})
        assert bad.status_code == 400 and bad.json()["message"].startswith("name: ")
        long = client.post("/api/function", json={"name": "a" * 51, "language": "python"})
        assert long.status_code == 400
        create(fn_server, "dup", "bash")
        again = client.post("/api/function", json={"name": "dup", "language": "bash"})
        assert (again.status_code, again.text) == (400, "Function already exists")
        deps = client.post("/api/function/dup", json={"code": "x", "dependencies": ["a;b"]})
        assert deps.status_code == 400 and "a;b" in deps.text


def test_concurrent_updates_end_consistent(fn_server: Server) -> None:
    name = "racer"
    create(fn_server, name, "python")
    codes = [f"def run(input):\n    return 'v{i}'\n" for i in range(3)]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda c: stream(fn_server, f"/api/function/{name}", {"code": c}), codes))
    final = info(fn_server, name)
    assert final["version"] == "3"
    assert final["status"]["type"] == "ready"
    assert final["status"]["tag"].endswith(":v3")
    with fn_server.client() as client:
        code = client.get(f"/api/function/{name}/detail").json()["code"]
    expected = code.split("'")[1]
    assert run(fn_server, name, "").json()["stdout"] == expected


def test_list_is_not_capped(fn_server: Server) -> None:
    with fn_server.client() as client:
        listed = client.get("/api/function")
        total = int(listed.headers["X-Total-Count"])
        assert len(listed.json()) == total
        page = client.get("/api/function", params={"offset": 1, "limit": 1})
        assert len(page.json()) == min(1, max(0, total - 1))


@pytest.mark.parametrize("lang", sorted(all_languages()))
def test_sample_runs_as_created(server: Server, lang: str) -> None:
    name = f"sample-{lang}"
    chunks = create(server, name, lang)
    assert chunks[-1]["event"] == "info", chunks[-5:]
    result = run(server, name, SAMPLE_INPUT).json()
    assert result["stdout"] == "Hello, tinirun!", result
    assert result["exit_code"] == 0
    # Runs use the image only: no compiler or installer runs at run time.
    assert result["duration_ms"] < 5000


def test_run_limits_apply(server: Server) -> None:
    name = "sleepy"
    create(server, name, "python")
    stream(server, f"/api/function/{name}",
           {"code": "import time\n\ndef run(input):\n    time.sleep(60)\n    return 'late'\n"})
    result = run(server, name, "", timeout=5).json()
    assert result["timeout"] is True


def test_status_sync_after_image_removed(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_CLEANUP_INTERVAL="1")
    srv.start()
    create(srv, "vanish", "bash")
    tag = info(srv, "vanish")["status"]["tag"]
    subprocess.run(["docker", "rmi", "-f", tag], check=True, capture_output=True)
    deadline = time.monotonic() + 15
    while info(srv, "vanish")["status"]["type"] != "not_built" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert info(srv, "vanish")["status"] == {"type": "not_built"}
    response = run(srv, "vanish", "")
    assert response.status_code == 400


def test_function_image_missing_gives_error_chunk(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make()
    srv.start()
    create(srv, "gone", "bash")
    tag = info(srv, "gone")["status"]["tag"]
    subprocess.run(["docker", "rmi", "-f", tag], check=True, capture_output=True)
    chunks = stream(srv, "/api/function/gone/run/stream", {"input": ""})
    assert chunks[-1]["event"] == "error"
    assert chunks[-1]["data"] == {"error": "function_image_not_found",
                                  "message": chunks[-1]["data"]["message"], "image_tag": tag}


def test_restart_after_sigkill_recovers(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make()
    srv.start()
    # Start a slow rebuild (a crate to fetch takes seconds even to fail) and a long run,
    # then kill the service hard in the middle of both.
    code = "pub fn run(input: String) -> Result<String, String> { Ok(input) }\n"
    create(srv, "crash", "rust")
    with srv.client() as client, client.stream(
        "POST", "/api/function/crash", json={"code": code, "dependencies": ["serde=1.0"]},
    ) as response:
        next(response.iter_lines())
        with srv.client() as other, other.stream(
            "POST", "/api/code/run",
            json={"code": "import time\nprint('x', flush=True)\ntime.sleep(60)", "lang": "python"},
        ) as running:
            next(running.iter_lines())
            time.sleep(1)
            assert info(srv, "crash")["status"]["type"] == "building"
            left = containers_of(srv)  # the run's, and the warm pool's
            assert left
            srv.stop(signal.SIGKILL)
    srv.start()
    assert info(srv, "crash")["status"]["type"] in ("not_built", "error")
    assert not any(container_exists(cid) for cid in left)


def test_redis_down_and_back(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> None:
    redis = RedisServer(free_port())
    redis.start()
    srv = make_server(tmp_path_factory.mktemp("redis-down"), RUNNER_REDIS_URL=redis.url)
    srv.start()
    try:
        create(srv, "survivor", "bash")
        redis.stop()
        with srv.client() as client:
            down = client.get("/api/function/survivor/info")
            assert down.status_code == 503
            assert "unavailable" in down.text.lower()
            assert client.get("/api/function").status_code == 503
        # One-off runs go on without the store.
        assert result_of(srv.run({"code": "echo alive", "lang": "bash"}))["stdout"] == "alive\n"
        redis.start()
        # redis-server without persistence comes back empty: the store answers again.
        with srv.client() as client:
            back = client.get("/api/function")
            assert back.status_code == 200
            assert json.loads(back.text) == []
    finally:
        srv.stop()
        redis.stop()


def test_list_offset_out_of_range_is_refused(server: Server) -> None:
    """Found by the fuzz run: an offset past 64 bits made the store fail (500)."""
    with server.client() as client:
        response = client.get("/api/function", params={"offset": 2**96})
    assert response.status_code == 400
    assert "offset" in response.json()["message"]
