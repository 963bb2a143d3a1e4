"""compose.yaml for real: the service image on the host's engine, with Valkey, through HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.stack import SERVICE_IMAGE, Stack, run
from tests.integration.server import result_of

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

FUNCTION = "deploy-greet"
FUNCTION_CODE = "def run(input: str) -> str:\n    return 'hello, ' + input\n"


@pytest.fixture(scope="module")
def stack(service_images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    made = Stack(tmp_path_factory.mktemp("compose"))
    made.write_env_file()
    try:
        made.up()
        yield made
    finally:
        made.down()


def chunks_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_image_runs_as_a_non_root_user_with_a_health_check(stack: Stack) -> None:
    config = run(["docker", "image", "inspect", "--format", "{{json .Config}}",
                  SERVICE_IMAGE]).stdout
    image = json.loads(config)
    assert image["User"] == "10001:10001"
    assert "/api/health" in " ".join(image["Healthcheck"]["Test"])
    # The stack waited for this health check to pass; the socket's group was added.
    state = stack.inspect("tinirun")
    assert state["State"]["Health"]["Status"] == "healthy"
    assert state["HostConfig"]["GroupAdd"] == [str(Path("/var/run/docker.sock").stat().st_gid)]


def test_build_ca_stays_out_of_the_image(stack: Stack) -> None:
    # The CA reached pip in the build stage (the build needed it); the image holds none of it.
    listing = run(["docker", "run", "--rm", "--entrypoint", "sh", SERVICE_IMAGE, "-c",
                   "ls -A /tmp; ls /tmp/build-ca /src 2>&1 || true"]).stdout
    assert "ca.pem" not in listing and "extra.pem" not in listing
    assert "No such file" in listing


def test_hello_world_through_the_host_engine(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/api/code/run",
                               json={"lang": "python", "code": "print('hello from compose')"})
    assert response.status_code == 200, response.text
    result = result_of(chunks_of(response.text))
    assert result["stdout"] == "hello from compose\n"
    assert result["exit_code"] == 0


def test_a_wrong_key_is_refused(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/api/code/run", json={"code": "1"},
                               headers={"X-Runner-Api-Key": "not-the-key"})
    assert response.status_code == 401


def test_runtime_images_build_ahead_through_the_service_image(stack: Stack) -> None:
    # The documented way to build runtime images before the first run: instant when present.
    out = stack("run", "--rm", "--no-deps", "tinirun", "tinirun", "images", "build", "python")
    assert out.stdout.strip().startswith("python: tinirun-runtime-python:"), out.stdout


def test_function_survives_recreating_the_containers(stack: Stack) -> None:
    with stack.client() as client:
        created = client.post("/api/function", json={"name": FUNCTION, "language": "python"})
        assert created.status_code == 200, created.text
        updated = client.post(f"/api/function/{FUNCTION}",
                              json={"code": FUNCTION_CODE, "description": "deploy test"})
        assert updated.status_code == 200, updated.text
        assert "ready" in chunks_of(updated.text)[-1]["data"], updated.text[-500:]
        first = client.post(f"/api/function/{FUNCTION}/run", json={"input": "valkey"})
        assert first.status_code == 200, first.text
        assert first.json()["stdout"] == "hello, valkey"
    stored = stack("exec", "-T", "valkey", "valkey-cli", "HGET", f"tinirun:fn:{FUNCTION}",
                   "version").stdout.strip()
    assert stored == "1", stored  # versions count from 0: one update
    owner = stack.installation_id()

    # Containers removed and made again (as by an upgrade); the volumes stay.
    stack("down", "--timeout", "40")
    assert run(["docker", "ps", "-aq", "--filter",
                f"label=com.docker.compose.project={stack.project}"]).stdout.strip() == ""
    stack.up()

    assert stack.installation_id() == owner
    with stack.client() as client:
        info = client.get(f"/api/function/{FUNCTION}/info")
        assert info.status_code == 200, info.text
        assert info.json()["status"]["type"] == "ready"
        assert info.json()["version"] == "1"
        again = client.post(f"/api/function/{FUNCTION}/run", json={"input": "again"})
        assert again.status_code == 200, again.text
        assert again.json()["stdout"] == "hello, again"


def test_compose_file_requires_the_socket_group(tmp_path: Path) -> None:
    # Without DOCKER_GID the service could not use the socket: compose refuses, naming it.
    bare = Stack(tmp_path)
    bare.env_file.write_text("RUNNER_API_KEY=x\n")
    result = bare("config", check=False, timeout=60)
    assert result.returncode != 0
    assert "DOCKER_GID" in result.stderr
