"""A run's container stopped from outside (what the engine does to every container when it
shuts down, or an administrator's `docker stop`/`docker kill`) ends with the contract's
`docker` error; a program that dies of a signal on its own still ends with its result."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from typing import Any

import pytest

from tests.integration.conftest import containers_of
from tests.integration.server import Server, result_of

LONG = {"code": "import time\nprint('up', flush=True)\ntime.sleep(120)", "lang": "python",
        "timeout": 150}


@pytest.mark.parametrize("how", [["stop", "-t", "2"], ["kill"]])
def test_stopped_from_outside_is_a_docker_error(make, how: list[str]) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_POOL_SIZE="0")
    srv.start()
    chunks: list[dict[str, Any]] = []
    up = threading.Event()

    def read() -> None:
        with srv.client() as client, client.stream("POST", "/api/code/run", json=LONG) as r:
            for line in r.iter_lines():
                if line.strip():
                    chunks.append(json.loads(line))
                    up.set()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not any(c["event"] == "stdout" for c in chunks) and time.monotonic() < deadline:
        time.sleep(0.1)
    (cid,) = containers_of(srv)
    subprocess.run(["docker", *how, cid], check=True, capture_output=True)
    thread.join(30)
    assert chunks[-1]["event"] == "error", chunks[-3:]
    assert chunks[-1]["data"]["error"] == "docker"
    assert "stopped the container" in chunks[-1]["data"]["message"]


@pytest.mark.parametrize("signal", ["TERM", "KILL"])
def test_a_program_killing_itself_is_a_result(make, signal: str) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_POOL_SIZE="0")
    srv.start()
    chunks = srv.run({"code": f"echo bye\nkill -{signal} $$", "lang": "bash"})
    result = result_of(chunks)
    assert result["exit_code"] == 128 + {"TERM": 15, "KILL": 9}[signal]
    assert result["oom_killed"] is False and result["timeout"] is False
