"""Warm containers killed from outside while they wait (an engine restart, `docker kill`, the
host's OOM killer): the next runs get working containers, never a dead one."""

from __future__ import annotations

import subprocess
import time

from tests.integration.conftest import containers_of
from tests.integration.server import Server, result_of


def test_runs_after_the_warm_containers_were_killed(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_CLEANUP_INTERVAL="2")
    srv.start()
    assert result_of(srv.run({"code": "echo warm", "lang": "bash"}))["exit_code"] == 0
    time.sleep(2)  # the pool refills behind the run
    waiting = containers_of(srv)
    assert waiting, "warm containers should be waiting"
    subprocess.run(["docker", "kill", *waiting], capture_output=True, check=True)
    for _ in range(4):
        chunks = srv.run({"code": "echo again", "lang": "bash"})
        assert result_of(chunks)["stdout"] == "again\n", chunks
    deadline = time.monotonic() + 20
    while set(waiting) & set(containers_of(srv)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not set(waiting) & set(containers_of(srv))
    assert "Traceback" not in srv.log()
