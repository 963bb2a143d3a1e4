"""The Python client (sync and async) against a real service on a real engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tinirun_client import (
    AsyncClient,
    AuthenticationError,
    BusyError,
    Client,
    ErrorChunk,
    InfoChunk,
    InvalidRequestError,
    NotFoundError,
    ResultChunk,
    RunError,
    RunResult,
    ServerError,
    StderrChunk,
    StdoutChunk,
    TransportError,
)

from tests.conftest import free_port
from tests.integration.conftest import container_exists, container_of_run, wait_gone
from tests.integration.server import API_KEY, Server


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with Client(server.url, API_KEY) as made:
        yield made


def test_run_code_returns_the_result(client: Client) -> None:
    result = client.run_code("import sys\nprint('out')\nsys.exit(4)", lang="python")
    assert isinstance(result, RunResult)
    assert (result.stdout, result.exit_code, result.timeout) == ("out\n", 4, False)


def test_stream_yields_typed_chunks_in_order(client: Client) -> None:
    code = "import sys\nprint('a', flush=True)\nprint('b', file=sys.stderr, flush=True)"
    with client.run_code_stream(code, "python") as chunks:
        received = list(chunks)
    assert isinstance(received[0], InfoChunk)
    assert isinstance(received[-1], ResultChunk)
    assert received[-1].data.stdout == "a\n"
    assert "".join(c.data for c in received if isinstance(c, StdoutChunk)) == "a\n"
    assert "".join(c.data for c in received if isinstance(c, StderrChunk)) == "b\n"


def test_files_dependencies_limits_and_stdin(client: Client) -> None:
    code = ("import sys, six\nprint(open('files/d/x.bin', 'rb').read(), sys.stdin.read(),"
            " six.__version__)")
    result = client.run_code(code, "python", dependencies=["six==1.16.0"],
                             files={"d/x.bin": b"\x00\x01"}, stdin="in", timeout=60,
                             mem_limit_mb=128, cpu_limit=1.0)
    assert result.stdout == "b'\\x00\\x01' in 1.16.0\n", result


def test_timeout_is_a_result(client: Client) -> None:
    result = client.run_code("sleep 30", "bash", timeout=5)
    assert result.timeout is True
    assert result.exit_code is None


def test_closing_a_stream_stops_the_run(client: Client) -> None:
    code = "import time\nprint('up', flush=True)\ntime.sleep(120)"
    seen: list[dict[str, Any]] = []
    with client.run_code_stream(code, "python", timeout=120) as chunks:
        for chunk in chunks:
            seen.append(chunk.to_json())
            if isinstance(chunk, StdoutChunk):
                break
        cid = container_of_run(seen)
        assert container_exists(cid), "the run's container should exist while it runs"
    assert wait_gone(cid, 10)


def test_errors_carry_the_service_message(server: Server, client: Client) -> None:
    with pytest.raises(InvalidRequestError) as bad_dep:
        client.run_code("x", "python", dependencies=["bad dep"])
    assert bad_dep.value.status_code == 400 and "bad dep" in bad_dep.value.message
    with pytest.raises(InvalidRequestError) as bad_field:
        client.run_code("x", "python", timeout=1)
    # A body that breaks the schema: 400 with JSON {"message"}, read as the message.
    assert bad_field.value.status_code == 400
    assert bad_field.value.message.startswith("timeout: ")
    with pytest.raises(NotFoundError):
        client.get_function("no-such-function")
    with Client(server.url, "wrong") as stranger, pytest.raises(AuthenticationError):
        stranger.list_functions()
    with Client(f"http://127.0.0.1:{free_port()}", API_KEY) as nowhere, \
            pytest.raises(TransportError):
        nowhere.run_code("x")


def test_failed_dependency_install_is_a_run_error(client: Client) -> None:
    with pytest.raises(RunError) as caught:
        client.run_code("x", "python", dependencies=["no-such-package-tinirun-test"])
    assert caught.value.kind == "build_failed"
    assert caught.value.logs


def test_body_too_large_and_busy_and_store_down(make) -> None:  # type: ignore[no-untyped-def]
    small = make(RUNNER_MAX_BODY_BYTES="2048", RUNNER_MAX_CONCURRENT_RUNS="1",
                 RUNNER_QUEUE_SIZE="0", RUNNER_REDIS_URL=f"redis://127.0.0.1:{free_port()}")
    small.start()
    with Client(small.url, API_KEY) as client:
        with pytest.raises(InvalidRequestError) as too_large:
            client.run_code("#" * 4096, "python")
        assert too_large.value.status_code == 413
        with pytest.raises(ServerError) as store_down:
            client.list_functions()
        assert store_down.value.status_code == 503
        with client.run_code_stream("sleep 60", "bash", timeout=60) as first:
            for chunk in first:
                if isinstance(chunk, InfoChunk) and "Starting" in chunk.data:
                    break
            with pytest.raises(BusyError) as busy:
                client.run_code("echo no room", "bash")
        assert busy.value.status_code == 429
        assert busy.value.retry_after is not None and busy.value.retry_after > 0


def test_functions_lifecycle(client: Client) -> None:
    name = "client-lifecycle"
    info = client.create_function(name, "python")
    assert (info.status.type, info.version) == ("ready", 0)
    code = "import six\n\ndef run(input: str) -> str:\n    return input[::-1] + six.__version__\n"
    info = client.update_function(name, code, description="Reverses",
                                  dependencies=["six==1.16.0"])
    assert (info.status.type, info.version) == ("ready", 1)
    assert [i.name for i in client.list_functions() if i.name == name] == [name]
    assert client.list_functions(limit=1)[0].name <= name
    detail = client.get_function_detail(name)
    assert (detail.code, detail.description, detail.dependencies) == (code, "Reverses",
                                                                       "six==1.16.0")
    assert client.run_function(name, "abc").stdout == "cba1.16.0"
    with client.run_function_stream(name, "xyz", timeout=30) as chunks:
        assert chunks.result().stdout == "zyx1.16.0"
    client.delete_function(name)
    with pytest.raises(NotFoundError):
        client.get_function(name)


def test_function_build_stream_and_errors(client: Client) -> None:
    name = "client-build-stream"
    with client.create_function_stream(name, "bash") as chunks:
        events = [chunk.event.value for chunk in chunks]
    assert events[-1] == "info" and set(events) <= {"info", "debug"}
    with pytest.raises(InvalidRequestError, match="already exists"):
        client.create_function(name, "bash")
    with pytest.raises(RunError) as broken:
        client.update_function(name, "#!/bin/sh\necho hi\n", dependencies=["no-such-pkg-tinirun"])
    assert broken.value.kind == "build_failed"
    assert client.get_function(name).status.type == "error"
    with pytest.raises(InvalidRequestError, match="not ready"):
        client.run_function(name, "x")
    client.delete_function(name)


async def test_async_client(server: Server) -> None:
    async with AsyncClient(server.url, API_KEY) as client:
        result = await client.run_code("echo $((6 * 7))", "bash")
        assert result.stdout == "42\n"
        async with client.run_code_stream("print('hi')", "python") as chunks:
            received = [chunk async for chunk in chunks]
        assert isinstance(received[-1], ResultChunk) and received[-1].data.stdout == "hi\n"
        name = "client-async"
        info = await client.create_function(name, "python")
        assert info.status.type == "ready"
        assert (await client.run_function(name, "world")).exit_code == 0
        async with client.run_function_stream(name, "x") as chunks:
            assert (await chunks.result()).exit_code == 0
        assert name in [i.name for i in await client.list_functions()]
        assert (await client.get_function_detail(name)).lang == "python"
        info = await client.update_function(name, "def run(input: str) -> str:\n    return '!'\n")
        assert info.version == 1
        await client.delete_function(name)
        with pytest.raises(NotFoundError):
            await client.get_function(name)
        with pytest.raises(InvalidRequestError):
            await client.run_code("x", "python", dependencies=["bad dep"])
        with pytest.raises(RunError):
            await client.run_code("x", "python", dependencies=["no-such-package-tinirun-test"])


def test_error_chunk_of_an_unreachable_engine(make) -> None:  # type: ignore[no-untyped-def]
    srv = make(DOCKER_HOST="unix:///nonexistent/docker.sock")
    srv.start()
    with Client(srv.url, API_KEY) as client, client.run_code_stream("echo x", "bash") as chunks:
        last = list(chunks)[-1]
    assert isinstance(last, ErrorChunk) and last.data.error == "docker"


def test_arguments_and_output_files_as_bytes(client: Client) -> None:
    code = ("import os, sys\nos.makedirs('out', exist_ok=True)\n"
            "open('out/a.bin', 'wb').write(bytes([0, 255]) + ' '.join(sys.argv[1:]).encode())\n")
    result = client.run_code(code, "python", args=["x y", "ü"])
    assert result.exit_code == 0, result.stderr
    (made,) = result.output_files
    assert (made.path, made.content) == ("out/a.bin", b"\x00\xffx y " + "ü".encode())
