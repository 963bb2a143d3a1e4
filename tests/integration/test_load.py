"""The bounded queue and the warm pool on a real engine."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import threading
from typing import Any

from tests.integration.conftest import container_of_run, wait_gone, wait_warm, warm_containers
from tests.integration.server import Server, iter_chunks, result_of
from tests.wait import wait_until

SLEEP = {"code": "import time\nprint('go', flush=True)\ntime.sleep(4)", "lang": "python",
         "timeout": 30}


def test_queue_place_429_and_hang_up_while_queued(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_MAX_CONCURRENT_RUNS="1", RUNNER_QUEUE_SIZE="1")
    srv.start()
    first_started = threading.Event()
    first: list[dict[str, Any]] = []

    def run_first() -> None:
        with srv.client() as client, client.stream("POST", "/api/code/run", json=SLEEP) as r:
            for chunk in iter_chunks(r):
                first.append(chunk)
                if chunk["event"] == "stdout":
                    first_started.set()

    thread = threading.Thread(target=run_first)
    thread.start()
    assert first_started.wait(30)
    with srv.client() as client, client.stream("POST", "/api/code/run", json=SLEEP) as queued:
        # Keep the iterator: dropping it would close the response (a hang-up).
        queued_chunks = iter_chunks(queued)
        chunk = next(queued_chunks)
        assert chunk == {"event": "info", "data": "Waiting in queue: position 1"}
        # The queue is full now: a third run is refused at once.
        busy = client.post("/api/code/run", json=SLEEP)
        assert busy.status_code == 429
        assert int(busy.headers["Retry-After"]) >= 1
        # The queued client hangs up here.
    thread.join(30)
    assert result_of(first)["stdout"] == "go\n"
    # The first run holds its slot until its container has stopped, a moment after its result.
    assert wait_gone(container_of_run(first), 60)
    # Its place was freed: the next run goes straight through, no queue.
    chunks = srv.run({"code": "echo next", "lang": "bash"})
    assert result_of(chunks)["stdout"] == "next\n"
    assert not any("Waiting in queue" in str(c["data"]) for c in chunks)


def test_many_concurrent_clients_lose_no_run(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_MAX_CONCURRENT_RUNS="4", RUNNER_QUEUE_SIZE="64")
    srv.start()

    def one(i: int) -> str:
        chunks = srv.run({"code": f"print({i})", "lang": "python"})
        return str(result_of(chunks)["stdout"])

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        outputs = list(pool.map(one, range(64)))
    assert outputs == [f"{i}\n" for i in range(64)]


def test_warm_container_used_and_limits_updated(server: Server) -> None:
    server.run({"code": "echo warm", "lang": "bash"})  # the bash pool exists after one run
    wait_warm(server, "bash")
    chunks = server.run({"code": "echo again", "lang": "bash"})
    infos = [c["data"] for c in chunks if c["event"] == "info"]
    assert any(i.startswith("Using a warm container") for i in infos), infos
    code = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
            "cat /sys/fs/cgroup/memory.max")
    wait_warm(server, "bash")
    chunks = server.run({"code": code, "lang": "bash", "mem_limit_mb": 300})
    infos = [c["data"] for c in chunks if c["event"] == "info"]
    assert any("limits updated" in i for i in infos), infos
    assert result_of(chunks)["stdout"].strip() == str(300 * 1024 * 1024)


def test_pool_off_uses_fresh_containers(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_POOL_SIZE="0")
    srv.start()
    for _ in range(2):
        chunks = srv.run({"code": "echo fresh", "lang": "bash"})
        assert any(str(c["data"]).startswith("Using a fresh container") for c in chunks)
        assert wait_gone(container_of_run(chunks), 10)


def test_warm_containers_are_isolated_like_fresh_ones(server: Server) -> None:
    used = container_of_run(server.run({"code": "echo x", "lang": "bash"}))
    # The run's own container is on its way out after the result: wait for a warm one.
    out = wait_until(lambda: [c for c in warm_containers(server, "bash") if c != used],
                     "a warm bash container")
    info = json.loads(subprocess.run(["docker", "inspect", out[0]], capture_output=True,
                                     check=True).stdout)[0]
    assert info["HostConfig"]["NetworkMode"] == "none"
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    assert info["Config"]["User"] == "1000:1000"
