"""One data directory, one service: a second service started by mistake on the data directory
of a running one refuses to start, in one line naming the first, and the first one's run in
progress goes on untouched (the second's start-up sweep would have removed its container)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import httpx

from tests.hostile.harness import Hostile
from tests.integration.server import make_server


def test_second_service_on_the_same_data_dir_refuses_to_start(
    hostile: Hostile, tmp_path: Any
) -> None:
    first = hostile.server
    started = threading.Event()
    chunks: list[dict[str, Any]] = []

    def run() -> None:
        body = {"code": "sleep 4; echo done", "lang": "bash", "timeout": 60}
        with first.client(timeout=120) as client, client.stream(
            "POST", "/api/code/run", json=body
        ) as response:
            for line in response.iter_lines():
                if line.strip():
                    chunks.append(json.loads(line))
                    if chunks[-1]["event"] == "info" and chunks[-1]["data"].startswith("Using a"):
                        started.set()
        started.set()

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    assert started.wait(120), "the first service's run did not start"

    second = make_server(tmp_path, RUNNER_DATA_DIR=str(first.data_dir),
                         RUNNER_API_KEY=first.headers["X-Runner-Api-Key"])
    with second.log_path.open("wb") as log:
        process = subprocess.run([sys.executable, "-m", "tinirun.cli", "serve"], env=second.env,
                                 stdout=log, stderr=subprocess.STDOUT, timeout=60)
    output = second.log().strip()
    assert process.returncode != 0, output
    assert len(output.splitlines()) == 1, output
    assert f"pid {first.process.pid if first.process else '?'} serving {first.url}" in output
    assert str(first.data_dir) in output and "Traceback" not in output
    try:
        httpx.get(f"{second.url}/api/openapi.json", timeout=2)
        raise AssertionError("the second service bound its port")
    except httpx.ConnectError:
        pass

    runner.join(120)
    assert chunks and chunks[-1]["event"] == "result", chunks[-3:]
    assert chunks[-1]["data"]["stdout"] == "done\n", chunks[-1]
