"""Shared fixtures: a real Docker engine, real tinirun servers, and real Redis servers
(started here, or TINIRUN_TEST_REDIS_URL)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.server import Server, make_server

# Markers by directory: `scripts/test -m "not docker"` (or `scripts/test tests/unit`) needs no
# engine; pyproject's `--strict-markers` refuses a marker not declared there.
DIRECTORY_MARKERS: dict[str, tuple[str, ...]] = {
    "unit": (),
    "store": (),  # the Redis cases are marked where they are made (tests/store/conftest.py)
    "integration": ("docker",),
    "hostile": ("docker", "slow"),
    "faults": ("docker", "slow"),
    "deploy": ("docker", "slow"),
    "browser": ("docker", "browser"),
    "cluster": ("docker", "redis", "slow"),
}
TESTS_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        try:
            directory = item.path.relative_to(TESTS_DIR).parts[0]
        except ValueError:
            continue
        for marker in DIRECTORY_MARKERS.get(directory, ()):
            item.add_marker(marker)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


REDIS_URL_ENV = "TINIRUN_TEST_REDIS_URL"


class RedisServer:
    """A throwaway redis-server process on a fixed port (a free one by default), which tests
    may stop and restart; `with RedisServer() as server:` starts it and stops it after."""

    def __init__(self, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            # Fail, not skip: a missing server must not pass as a green Redis suite.
            pytest.fail(
                "redis-server is not installed (not on PATH): the Redis back end cannot be "
                f"tested. Install redis-server or set {REDIS_URL_ENV} to a Redis to use.",
                pytrace=False,
            )
        self.binary = binary
        self.port = free_port() if port is None else port
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited with {self.process.returncode} on start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"redis-server did not answer on port {self.port} within 10 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A server of the test's own, for tests that stop and restart it."""
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The Redis of the session: TINIRUN_TEST_REDIS_URL, or a redis-server started here."""
    url = os.environ.get(REDIS_URL_ENV)
    if url:
        yield url
        return
    with RedisServer() as server:
        yield server.url


def _engine_up() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def engine_ready() -> None:
    # A missing engine is a failure, not a skip: these tests exist to run real containers.
    assert _engine_up(), "no Docker engine: start dockerd (scripts/test starts it when it can)"


@pytest.fixture(scope="session")
def server(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One service for the session, on the embedded store."""
    srv = make_server(tmp_path_factory.mktemp("server"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def make(engine_ready: None, tmp_path: Path) -> Iterator[object]:
    """A factory of extra servers (other settings); each is stopped after the test."""
    made: list[Server] = []

    def factory(**env: str) -> Server:
        srv = make_server(tmp_path, **env)
        made.append(srv)
        return srv

    yield factory
    for srv in made:
        srv.stop()
