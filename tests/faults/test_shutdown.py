"""Stopping the service. SIGTERM: it stops accepting at once, lets runs under way finish up to
RUNNER_SHUTDOWN_GRACE, then stops the rest and removes every container of its own. SIGKILL:
at the next start no container of the killed process remains and no function is `building`
(builds under SIGKILL: tests/integration/test_functions.py). Closed while its warm pool fills, it
leaves no container either."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.integration.conftest import containers_of, containers_owned_by
from tests.integration.server import Server, result_of
from tinirun.config import Config
from tinirun.service import build_services, installation_id


def stream_in_background(srv: Server, body: dict[str, Any]) -> tuple[list[dict[str, Any]],
                                                                     threading.Event,
                                                                     threading.Thread]:
    """Start a run; return its chunks (filled as they come), an event set at its first
    output, and the thread reading it."""
    chunks: list[dict[str, Any]] = []
    first = threading.Event()

    def read() -> None:
        try:
            with srv.client() as client, client.stream("POST", "/api/code/run",
                                                       json=body) as response:
                for line in response.iter_lines():
                    if line.strip():
                        chunks.append(json.loads(line))
                        if chunks[-1]["event"] == "stdout":
                            first.set()
        except httpx.HTTPError as exc:
            chunks.append({"event": "hang-up", "data": repr(exc)})
        finally:
            first.set()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return chunks, first, thread


def refused(srv: Server) -> bool:
    try:
        httpx.get(srv.url + "/api/openapi.json", timeout=2)
    except httpx.ConnectError:
        return True
    except httpx.HTTPError:
        return False
    return False


def test_sigterm_lets_runs_finish(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_SHUTDOWN_GRACE="30")
    srv.start()
    code = "import time\nprint('started', flush=True)\ntime.sleep(4)\nprint('finished')"
    chunks, first, thread = stream_in_background(srv, {"code": code, "lang": "python"})
    assert first.wait(60)
    assert srv.process is not None
    srv.process.send_signal(signal.SIGTERM)
    # New connections are refused at once, while the run goes on.
    deadline = time.monotonic() + 3
    while not refused(srv) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert refused(srv)
    thread.join(30)
    assert result_of(chunks)["stdout"] == "started\nfinished\n"
    # uvicorn re-raises the signal once it has shut down cleanly.
    assert srv.process.wait(30) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in srv.log()
    assert containers_of(srv) == []  # warm containers too
    assert "Traceback" not in srv.log()


def test_sigterm_stops_runs_at_the_deadline(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_SHUTDOWN_GRACE="3")
    srv.start()
    code = "import time\nprint('started', flush=True)\ntime.sleep(120)"
    runs = [stream_in_background(srv, {"code": code, "lang": "python", "timeout": 150})
            for _ in range(2)]
    assert all(first.wait(60) for _, first, _ in runs)
    assert srv.process is not None
    began = time.monotonic()
    srv.process.send_signal(signal.SIGTERM)
    assert srv.process.wait(30) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in srv.log()
    stopped_after = time.monotonic() - began
    assert 3 <= stopped_after < 3 + 15, stopped_after
    for chunks, _, thread in runs:
        thread.join(10)
        # The stream ends with an error that says why, not with a result.
        assert chunks[-1]["event"] == "error", chunks[-2:]
        assert chunks[-1]["data"]["error"] == "docker"
        assert "shutting down" in chunks[-1]["data"]["message"]
    assert containers_of(srv) == []
    assert "Traceback" not in srv.log()


def test_sigkill_during_runs_leaves_no_container_at_next_start(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make()
    srv.start()
    code = "import time\nprint('started', flush=True)\ntime.sleep(120)"
    chunks, first, thread = stream_in_background(srv, {"code": code, "lang": "python",
                                                       "timeout": 150})
    assert first.wait(60)
    time.sleep(1)  # the warm pool refills behind the run
    left = set(containers_of(srv))
    assert len(left) >= 2, "a running container and warm ones"
    srv.stop(signal.SIGKILL)
    thread.join(10)
    assert set(containers_of(srv)) == left, "SIGKILL: the containers are still there"
    srv.start()
    assert not left & set(containers_of(srv)), "the new start removed the old containers"
    assert result_of(srv.run({"code": "echo again", "lang": "bash"}))["stdout"] == "again\n"


def remove_owned_by(owner: str) -> list[str]:
    """Remove the containers that an installation owns; their ids."""
    left = containers_owned_by(owner)
    if left:
        subprocess.run(["docker", "rm", "-f", *left], capture_output=True)
    return left


async def test_closed_while_the_pool_fills_leaves_no_container(engine_ready: None,
                                                              tmp_path: Path) -> None:
    """Closed as soon as it has started, the service's warm pool is still making a container
    of every runtime. The fills are cancelled, some inside the engine's create, which the
    engine completes anyway: none of those containers is left (it was, in state `created`)."""
    services = await build_services(Config.from_env({"RUNNER_API_KEY": "k",
                                                     "RUNNER_DATA_DIR": str(tmp_path)}))
    await services.start()
    await services.close(grace=0)
    assert remove_owned_by(installation_id(tmp_path)) == []
