"""The Docker engine restarted while runs go on: those runs end with the contract's `docker`
error, and new runs work again without restarting the service. This test stops every container
on the engine: the suite runs it alone (CI); it always leaves the engine running."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from tests.faults.engine import ensure_dockerd, start_dockerd, stop_dockerd
from tests.integration.conftest import containers_of
from tests.integration.server import Server, result_of

LONG = {"code": "import time\nprint('up', flush=True)\ntime.sleep(120)", "lang": "python",
        "timeout": 150}


def test_engine_restart_during_runs(make) -> None:  # type: ignore[no-untyped-def]
    # A short cleanup interval: containers the engine stopped are removed by the next pass.
    srv: Server = make(RUNNER_CLEANUP_INTERVAL="5")
    srv.start()
    # Warm containers are waiting for python and bash before the engine goes away.
    for lang, code in (("python", "print('warm')"), ("bash", "echo warm")):
        assert result_of(srv.run({"code": code, "lang": lang}))["exit_code"] == 0
    before = set(containers_of(srv))
    streams: list[list[dict[str, Any]]] = [[], []]
    up = [threading.Event(), threading.Event()]

    def long_run(i: int) -> None:
        with srv.client() as client, client.stream("POST", "/api/code/run", json=LONG) as r:
            for line in r.iter_lines():
                if line.strip():
                    streams[i].append(json.loads(line))
                    if streams[i][-1]["event"] == "stdout":
                        up[i].set()
        up[i].set()

    threads = [threading.Thread(target=long_run, args=(i,), daemon=True) for i in range(2)]
    for thread in threads:
        thread.start()
    assert all(event.wait(60) for event in up)
    argv = ["dockerd"]
    try:
        argv = stop_dockerd()
        # While the engine is away, a new run ends with a `docker` error, not a hang.
        down = srv.run({"code": "echo x", "lang": "bash"})
        assert down[-1]["event"] == "error" and down[-1]["data"]["error"] == "docker", down
        start_dockerd(argv)
    finally:
        ensure_dockerd(argv)
    for thread in threads:
        thread.join(60)
    for chunks in streams:
        assert chunks[-1]["event"] == "error", chunks[-3:]
        assert chunks[-1]["data"]["error"] == "docker"
    # New runs work again, with no restart of the service: fresh and warm, both languages.
    for lang, code in (("bash", "echo back"), ("python", "print('back')"),
                       ("bash", "echo back"), ("python", "print('back')")):
        chunks = srv.run({"code": code, "lang": lang})
        assert result_of(chunks)["stdout"] == "back\n", chunks[-3:]
    # The containers that were there before the restart are gone, or go at the next pass.
    deadline = time.monotonic() + 30
    while before & set(containers_of(srv)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not before & set(containers_of(srv))
    assert "Traceback" not in srv.log()
