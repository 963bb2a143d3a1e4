"""Integration fixtures: a real Docker engine and a real tinirun server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.server import Server, make_server


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


def containers_of(server: Server) -> list[str]:
    """Ids of containers that the server's installation owns."""
    owner = (server.data_dir / "installation-id").read_text().strip()
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=tinirun.owner={owner}"],
        capture_output=True, text=True, check=True,
    )
    return out.stdout.split()
