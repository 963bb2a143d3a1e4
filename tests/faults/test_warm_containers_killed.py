"""Warm containers killed from outside while they wait (an engine restart, `docker kill`, the
host's OOM killer): the next runs get working containers, never a dead one."""

from __future__ import annotations

import subprocess

from tests.integration.conftest import container_of_run, containers_of, warm_containers
from tests.integration.server import Server, result_of
from tests.wait import wait_until


def test_runs_after_the_warm_containers_were_killed(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_CLEANUP_INTERVAL="2")
    srv.start()
    first = srv.run({"code": "echo warm", "lang": "bash"})
    assert result_of(first)["exit_code"] == 0
    used = container_of_run(first)  # on its way out after the result: not a warm one
    waiting = wait_until(lambda: [c for c in warm_containers(srv, "bash") if c != used],
                         "a warm bash container")  # the pool refills behind the run
    subprocess.run(["docker", "kill", *waiting], capture_output=True, check=True)
    for _ in range(4):
        chunks = srv.run({"code": "echo again", "lang": "bash"})
        assert result_of(chunks)["stdout"] == "again\n", chunks
    wait_until(lambda: not set(waiting) & set(containers_of(srv)),
               "the killed containers removed")
    assert "Traceback" not in srv.log()
