"""One-shot JSON runs (`POST /api/code/run?stream=false`) and functions created with their
code, on the real engine."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from tests.integration.server import Server

DEAD_ENGINE = "unix:///nonexistent/tinirun-test-docker.sock"


def one_shot(server: Server, body: dict[str, object]) -> httpx.Response:
    with server.client() as client:
        return client.post("/api/code/run", params={"stream": "false"}, json=body)


def test_a_run_answers_one_json_object(server: Server) -> None:
    response = one_shot(server, {"lang": "python",
                                 "code": "import sys\nprint('out')\nsys.exit(4)"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    result = response.json()
    assert result["stdout"] == "out\n" and result["exit_code"] == 4
    assert result["timeout"] is False


def test_swaggers_prefilled_example_runs_as_it_is(server: Server) -> None:
    document = httpx.get(f"{server.url}/api/openapi.json", timeout=30).json()
    operation = document["paths"]["/code/run"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    first = next(iter(examples.values()))["value"]
    assert any(p["name"] == "stream" for p in operation["parameters"])
    assert "application/json" in operation["responses"]["200"]["content"]
    response = one_shot(server, first)
    assert response.status_code == 200, response.text
    assert response.json()["exit_code"] == 0 and response.json()["stdout"].strip()


def test_an_unreachable_engine_is_502_with_the_error_data(make: Callable[..., Server]) -> None:
    srv = make(DOCKER_HOST=DEAD_ENGINE)
    srv.start()
    response = one_shot(srv, {"lang": "python", "code": "print(1)"})
    # 502 as on every route (one map from faults to status: tinirun/api/errors.py).
    assert response.status_code == 502, response.text
    assert response.json()["error"] == "docker" and response.json()["message"]


def test_a_function_created_with_its_code_is_built_once(server: Server) -> None:
    name = "calc2-v3"  # digits are allowed in names
    code = "import six\n\ndef run(input: str) -> str:\n    return str(len(input)) + six.u('!')\n"
    with server.client() as client:
        response = client.post("/api/function", json={
            "name": name, "language": "python", "code": code, "description": "length",
            "dependencies": ["six==1.16.0"]})
        assert response.status_code == 200, response.text
        builds = [line for line in response.text.splitlines() if "Building the function's image" in line]
        assert len(builds) == 1, response.text
        assert '"event":"error"' not in response.text, response.text
        detail = client.get(f"/api/function/{name}/detail").json()
        assert detail["code"] == code and detail["description"] == "length"
        assert detail["dependencies"] == "six==1.16.0"
        assert detail["status"]["type"] == "ready"
        ran = client.post(f"/api/function/{name}/run", json={"input": "abcd"})
        assert ran.json()["stdout"] == "4!", ran.text
        refused = client.post("/api/function", json={
            "name": "baddeps", "language": "python", "code": code,
            "dependencies": ["https://example.invalid/x.tar.gz"]})
        assert refused.status_code == 400, refused.text
        assert client.get("/api/function/baddeps/info").status_code == 404
        client.delete(f"/api/function/{name}")


def test_a_failed_install_says_what_pip_said(server: Server) -> None:
    response = one_shot(server, {"lang": "python", "code": "print(1)",
                                 "dependencies": ["no-such-package-xyz-123"]})
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["error"] == "build_failed"
    assert error["message"].startswith(
        "No matching distribution found for no-such-package-xyz-123"), error["message"]
    for ours in ("/bin/sh", "pip install", "SSL_CERT_FILE", "tinirun-deps"):
        assert ours not in error["message"]
    assert "ERROR: No matching distribution found" in error["logs"]


def test_info_speaks_of_the_run_and_container_ids_go_to_debug(server: Server) -> None:
    chunks = server.run({"lang": "python", "code": "print(1)"})
    infos = [c["data"] for c in chunks if c["event"] == "info"]
    debugs = [c["data"] for c in chunks if c["event"] == "debug"]
    assert any(i.startswith("Using a") for i in infos), infos
    assert not any(re.search(r"\b[0-9a-f]{12}\b", i) for i in infos), infos
    assert any(re.search(r" container [0-9a-f]{12}$", d) for d in debugs), debugs


def test_the_service_prints_where_it_listens(server: Server) -> None:
    log = server.log()
    assert f"tinirun listening on {server.url}" in log
    for page in ("/", "/api/docs", "/mcp", "/metrics"):
        assert f"{server.url}{page}\n" in log, log[-2000:]
