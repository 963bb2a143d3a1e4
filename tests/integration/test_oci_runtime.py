"""RUNNER_OCI_RUNTIME reaches the engine: user containers run under the named runtime (e.g.
runsc, gVisor, for stronger isolation), and a runtime the engine does not know gives a clear
`docker` error, not a hang or a 5xx."""

from __future__ import annotations

import json
import subprocess
import threading
import time

from tests.integration.conftest import containers_of
from tests.integration.server import Server, result_of


def test_named_runtime_is_used(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_OCI_RUNTIME="runc", RUNNER_POOL_SIZE="0")
    srv.start()
    runtimes: list[str] = []

    def inspect_while_running() -> None:
        deadline = time.monotonic() + 30
        while not runtimes and time.monotonic() < deadline:
            for cid in containers_of(srv):
                out = subprocess.run(["docker", "inspect", cid], capture_output=True, text=True)
                if out.returncode == 0:
                    runtimes.append(json.loads(out.stdout)[0]["HostConfig"]["Runtime"])
            time.sleep(0.1)

    watcher = threading.Thread(target=inspect_while_running, daemon=True)
    watcher.start()
    result = result_of(srv.run({"code": "sleep 2; echo ran", "lang": "bash"}))
    watcher.join(30)
    assert result["stdout"] == "ran\n"
    assert runtimes and set(runtimes) == {"runc"}


def test_unknown_runtime_is_a_clear_docker_error(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_OCI_RUNTIME="no-such-runtime", RUNNER_POOL_SIZE="0")
    srv.start()
    chunks = srv.run({"code": "echo x", "lang": "bash"})
    assert chunks[-1]["event"] == "error", chunks[-3:]
    assert chunks[-1]["data"]["error"] == "docker"
    assert "no-such-runtime" in chunks[-1]["data"]["message"]
    assert containers_of(srv) == []
