"""Builds are bounded like runs: at most N at once, the next ones queued with their place and
429 past the queue; the build of a one-off run whose client hung up is stopped and its
container removed (long before its time limit); a cap on the number of functions."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.hostile.packages import Index, index, index_server, remove_proxy
from tests.integration.server import Server, iter_chunks

__all__ = ["index"]

NDJSON = {"Accept": "application/x-ndjson"}
HANGS = {"lang": "python", "code": "print(1)", "dependencies": ["hostile-sleep==1.0"]}
PROBES = {"lang": "python", "code": "print(1)", "dependencies": ["hostile-probe==1.0"]}
# Far past any wait of this test: only a cancellation ends the hanging build in time.
LONG_TIMEOUT = "3000"
EVENT_WAIT = 180.0


def wait_until(check: Callable[[], bool], limit: float = EVENT_WAIT) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.3)
    return False


def build_containers(server: Server) -> list[str]:
    owner = (server.data_dir / "installation-id").read_text().strip()
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=tinirun.owner={owner}",
         "--filter", "label=tinirun.kind=build"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_builds_queue_refuse_past_the_queue_and_stop_when_nobody_waits(
        engine_ready: None, index: Index, tmp_path: Path) -> None:
    server = index_server(tmp_path, index, RUNNER_MAX_CONCURRENT_BUILDS="1",
                          RUNNER_BUILD_QUEUE_SIZE="1", RUNNER_BUILD_TIMEOUT=LONG_TIMEOUT,
                          RUNNER_MAX_FUNCTIONS="1")
    server.start()
    try:
        with contextlib.ExitStack() as stack:
            client = stack.enter_context(server.client())
            hanging = stack.enter_context(
                client.stream("POST", "/api/code/run", json=HANGS, headers=NDJSON))
            assert hanging.status_code == 200, hanging.read()
            seen = []
            # One generator for the whole stream: dropping it would close the response.
            chunks = iter_chunks(hanging)
            for chunk in chunks:
                seen.append(chunk)
                if chunk["event"] == "info" and chunk["data"].startswith("Installing"):
                    break
            else:
                raise AssertionError(f"the stream ended before its install: {seen[-3:]}")
            assert wait_until(lambda: bool(build_containers(server))), "no build container"
            hung = build_containers(server)

            # A second list waits for the one build slot, and is told its place.
            other = httpx.Client(base_url=server.url, headers=server.headers, timeout=300)
            stack.enter_context(other)
            waiting = stack.enter_context(
                other.stream("POST", "/api/code/run", json=PROBES, headers=NDJSON))
            queued = iter_chunks(waiting)
            for chunk in queued:
                assert chunk["event"] not in ("result", "error"), chunk
                if chunk["event"] == "info" and "build slot: position 1" in chunk["data"]:
                    break

            # The queue is full: a third build is refused at once, a run without one is not.
            with server.client() as third:
                refused = third.post("/api/code/run", headers=NDJSON, json={
                    "lang": "javascript", "code": "1", "dependencies": ["hostile-npm"]})
                assert refused.status_code == 429, refused.text
                function = third.post("/api/function", json={"name": "fa",
                                                              "language": "python"})
                assert function.status_code == 429, function.text
                plain = third.post("/api/code/run", headers=NDJSON,
                                   json={"lang": "bash", "code": "echo ok"})
                assert plain.status_code == 200 and "ok\\n" in plain.text

            # The first client hangs up: its build container goes, long before its limit.
            hanging.close()
            assert wait_until(lambda: not set(hung) & set(build_containers(server))), (
                "the build of a run nobody waits for is still there")
            # ... and the queued build gets the slot and runs to its end.
            rest = list(queued)
            assert rest and rest[-1]["event"] == "error", rest[-3:]
            assert "TINIRUN-PROBE" in rest[-1]["data"]["logs"]

        # At most RUNNER_MAX_FUNCTIONS functions.
        with server.client() as client:
            first = client.post("/api/function", json={"name": "fa", "language": "bash"},
                                headers=NDJSON)
            assert first.status_code == 200, first.text
            second = client.post("/api/function", json={"name": "fb", "language": "bash"})
            assert second.status_code == 400 and "at most 1 functions" in second.text
            assert client.get("/api/function/fb/info").status_code == 404
    finally:
        server.stop()
        remove_proxy(server.log())
