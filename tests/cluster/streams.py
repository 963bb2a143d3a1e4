"""A run read in a background thread, so a test can hold a node's slot and watch events."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from tests.integration.server import Server

# A run that keeps its slot until its client hangs up (and prints as it goes).
HOLD = {"lang": "bash", "code": "for i in $(seq 1 600); do echo tick $i; sleep 0.1; done",
        "timeout": 300}


class Stream:
    def __init__(self, srv: Server, body: dict[str, Any], path: str = "/api/code/run") -> None:
        self.chunks: list[dict[str, Any]] = []
        self.status: int | None = None
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(srv, path, body), daemon=True)
        self._thread.start()

    def _read(self, srv: Server, path: str, body: dict[str, Any]) -> None:
        try:
            with srv.client() as client, client.stream(
                    "POST", path, json=body, headers={"Accept": "application/x-ndjson"}
            ) as response:
                self.status = response.status_code
                for line in response.iter_lines():
                    if line.strip():
                        with self._changed:
                            self.chunks.append(json.loads(line))
                            self._changed.notify_all()
                    if self._stop.is_set():
                        return  # hang up
        except httpx.HTTPError as exc:
            with self._changed:
                self.chunks.append({"event": "hang-up", "data": repr(exc)})
        finally:
            with self._changed:
                self.status = self.status or -1
                self._changed.notify_all()

    def wait(self, check: Any, limit: float = 120) -> bool:
        deadline = time.monotonic() + limit
        with self._changed:
            while not check(self):
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive() and not check(self):
                    return bool(check(self))
                self._changed.wait(min(left, 0.5))
        return True

    def infos(self) -> list[str]:
        return [str(c["data"]) for c in self.chunks if c["event"] == "info"]

    def has_info(self, text: str) -> bool:
        return any(text in info for info in self.infos())

    def stdout(self) -> str:
        return "".join(str(c["data"]) for c in self.chunks if c["event"] == "stdout")

    @property
    def ended(self) -> bool:
        return bool(self.chunks) and self.chunks[-1]["event"] in ("result", "error", "hang-up")

    def wait_started(self, limit: float = 120) -> None:
        assert self.wait(lambda s: "tick" in s.stdout() or s.ended, limit), self.chunks[-5:]
        assert "tick" in self.stdout(), self.chunks[-5:]

    def wait_end(self, limit: float = 120) -> dict[str, Any]:
        assert self.wait(lambda s: s.ended, limit), self.chunks[-5:]
        return self.chunks[-1]

    def close(self) -> None:
        """Hang up (the run is stopped and its slot freed)."""
        self._stop.set()
        self._thread.join(60)
