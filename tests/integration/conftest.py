"""Integration fixtures: a real Docker engine and a real tinirun server."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def container_of_run(chunks: list[dict[str, Any]]) -> str:
    """The id of the container a run used, from its `info` chunk."""
    for chunk in chunks:
        text = chunk.get("data")
        if chunk["event"] == "info" and isinstance(text, str):
            match = re.search(r" container ([0-9a-f]{12})", text)
            if match:
                return match.group(1)
    raise AssertionError(f"no container named in {chunks[:6]}")


def container_exists(cid: str) -> bool:
    return subprocess.run(["docker", "inspect", cid], capture_output=True).returncode == 0


def wait_gone(cid: str, seconds: float) -> bool:
    """True once the container no longer exists (removal runs in the background)."""
    deadline = time.monotonic() + seconds
    while container_exists(cid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
