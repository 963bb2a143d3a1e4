"""A real tinirun server in a subprocess, for tests that go through HTTP and real sockets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

API_KEY = "test-key"
NDJSON = "application/x-ndjson"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running service: its URL, key, data directory and log file."""

    port: int
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    _log_file: Any = None
    headers: dict[str, str] = field(default_factory=lambda: {"X-Runner-Api-Key": API_KEY})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, timeout: float = 300) -> httpx.Client:
        """A client that asks for NDJSON (the service's default stream is SSE, as the
        original's); a request may ask for another type with its own Accept header."""
        return httpx.Client(base_url=self.url, headers={"Accept": NDJSON, **self.headers},
                            timeout=timeout)

    def start(self, wait: float = 30) -> None:
        if self._log_file is None:
            self._log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tinirun.cli", "serve"], env=self.env,
            stdout=self._log_file, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/api/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, wait: float = 40) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(wait)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def run(self, body: dict[str, Any], accept: str | None = None) -> list[dict[str, Any]]:
        """POST /api/code/run and return every chunk (NDJSON)."""
        headers = {"Accept": accept} if accept else {}
        with self.client() as client:
            response = client.post("/api/code/run", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]

    def stream(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        with self.client() as client:
            response = client.post(path, json=body)
        assert response.status_code == 200, response.text
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def make_server(tmp: Path, **env: str) -> Server:
    port = free_port()
    data_dir = tmp / f"data-{port}"
    # The CA bundle setting passes through: dependency installs may need it to reach registries.
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("RUNNER_") or k == "RUNNER_EXTRA_CA_BUNDLE"}
    base.update({
        "RUNNER_API_KEY": API_KEY,
        "RUNNER_PORT": str(port),
        "RUNNER_DATA_DIR": str(data_dir),
        "RUNNER_LOG_LEVEL": "info",
    })
    base.update(env)
    return Server(port=port, data_dir=data_dir, log_path=tmp / f"server-{port}.log", env=base)


def result_of(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The data of the final `result` chunk; fails with the chunks when there is none."""
    assert chunks, "no chunks"
    last = chunks[-1]
    assert last["event"] == "result", f"last chunk is not a result: {chunks[-5:]}"
    data: dict[str, Any] = last["data"]
    return data


def iter_chunks(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.strip():
            yield json.loads(line)
