"""Redis stopped and started again while runs and function calls go on: one-off runs never
notice, function routes answer 503 while it is down (never another 5xx), and the service
works with it again when it is back, without a restart."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

from tests.conftest import RedisServer
from tests.integration.server import Server, result_of
from tests.wait import wait_until


def test_redis_down_and_back_under_load(make, redis_server: RedisServer) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_REDIS_URL=redis_server.url)
    srv.start()
    assert srv.stream("/api/function", {"name": "loaded", "language": "bash"})[-1]["event"] \
        == "info"
    stop = threading.Event()
    seen: dict[str, Counter[Any]] = {"run": Counter(), "call": Counter(), "list": Counter()}

    def one_off_runs() -> None:
        with srv.client() as client:
            while not stop.is_set():
                response = client.post("/api/code/run", json={"code": "echo ok", "lang": "bash"})
                chunks = [json.loads(x) for x in response.text.splitlines() if x.strip()]
                ok = response.status_code == 200 and chunks[-1]["event"] == "result" and \
                    chunks[-1]["data"]["stdout"] == "ok\n"
                seen["run"][ok] += 1

    def function_calls() -> None:
        with srv.client() as client:
            while not stop.is_set():
                response = client.post("/api/function/loaded/run", json={"input": "x"})
                seen["call"][response.status_code] += 1
                time.sleep(0.05)

    def listings() -> None:
        with srv.client() as client:
            while not stop.is_set():
                seen["list"][client.get("/api/function").status_code] += 1
                time.sleep(0.05)

    threads = [threading.Thread(target=f, daemon=True)
               for f in (one_off_runs, one_off_runs, function_calls, listings)]
    for thread in threads:
        thread.start()
    wait_until(lambda: seen["run"][True] >= 3 and seen["call"][200] >= 1
               and seen["list"][200] >= 1, "runs, calls and listings with Redis up")
    redis_server.stop()
    wait_until(lambda: seen["call"][503] >= 1 and seen["list"][503] >= 1,
               "503s while Redis is down")
    runs_while_down = seen["run"][True]
    wait_until(lambda: seen["run"][True] >= runs_while_down + 3, "runs while Redis is down")
    redis_server.start()
    wait_until(lambda: seen["call"][404] >= 1, "function calls answered again (404: Redis "
               "came back empty)")
    stop.set()
    for thread in threads:
        thread.join(60)
    assert seen["run"][False] == 0 and seen["run"][True] > 5, seen
    # 200 before, 503 while down, 404 after (this redis-server keeps nothing across restarts).
    assert set(seen["call"]) <= {200, 503, 404} and seen["call"][503] > 0, seen
    assert seen["call"][200] > 0 and seen["call"][404] > 0, seen
    assert set(seen["list"]) == {200, 503}, seen
    # Back for good: a function made now builds and runs.
    assert srv.stream("/api/function", {"name": "again", "language": "bash"})[-1]["event"] \
        == "info"
    with srv.client() as client:
        response = client.post("/api/function/again/run", json={"input": "x"})
    assert response.status_code == 200, response.text
    assert result_of([{"event": "result", "data": response.json()}])["exit_code"] == 0
    assert "Traceback" not in srv.log()
