"""The adversarial suite's harness: one hostile request against a real server while
hello-world probes go on beside it, then proof that nothing of the hostile run remains.

`Hostile.survive(body)` runs the request to its end and checks, every time:
- the stream ended with exactly one `result` or `error`;
- hello-world probes, started while the hostile run was under way, were answered;
- no container of the server remains, nor the cgroup (so no process) or the engine's state
  directory of any container seen meanwhile; the service's own temp dir is empty;
- the service is alive and logged no traceback.
It measures the service's resident memory and the probes' latency for the report.
"""

from __future__ import annotations

import glob
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.integration.conftest import containers_of
from tests.integration.server import Server

PROBE = {"code": "echo hi", "lang": "bash", "timeout": 10}
# A probe slower than this means the hostile run starved the service (liveness, not speed).
PROBE_LIVENESS = 30.0
# How long removal of a finished run's container may take (it happens in the background).
REMOVAL_WAIT = 30.0
# Streamed text kept per stream for the test's own checks.
KEEP_BYTES = 2 * 1024 * 1024
# Set to a file path to collect each case's measurements (one JSON line per case).
REPORT_ENV = "TINIRUN_HOSTILE_REPORT"


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cgroup_dirs(container_id: str) -> list[str]:
    """The cgroup directories of a container still on the host (cgroup v1 or v2)."""
    patterns = [f"/sys/fs/cgroup/*/docker/{container_id}", f"/sys/fs/cgroup/docker/{container_id}",
                f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope"]
    return [path for pattern in patterns for path in glob.glob(pattern)]


@dataclass
class Outcome:
    """What a hostile run produced and what it cost the service."""

    last: dict[str, Any]
    infos: list[str]
    streamed: dict[str, int]
    text: dict[str, str]
    seconds: float
    probes: list[float]
    base_rss_kib: int
    peak_rss_kib: int
    containers_seen: set[str] = field(default_factory=set)

    @property
    def result(self) -> dict[str, Any]:
        assert self.last["event"] == "result", f"expected a result, got {self.last}"
        data: dict[str, Any] = self.last["data"]
        return data


class Hostile:
    """A server for hostile runs and the checks around each one."""

    def __init__(self, server: Server, tmpdir: Path) -> None:
        self.server = server
        self.tmpdir = tmpdir

    @property
    def pid(self) -> int:
        assert self.server.process is not None
        return self.server.process.pid

    def wait_no_containers(self) -> list[str]:
        deadline = time.monotonic() + REMOVAL_WAIT
        left = containers_of(self.server)
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = containers_of(self.server)
        return left

    def survive(self, body: dict[str, Any], *, name: str, min_probes: int = 1,
                chunk_delay: float = 0.0,
                on_chunk: Callable[[dict[str, Any]], None] | None = None) -> Outcome:
        """Run `body` as a hostile run (reading each chunk `chunk_delay` late) while probes
        run, then check that nothing of it remains."""
        assert self.wait_no_containers() == [], "containers left before the case started"
        base = rss_kib(self.pid)
        peak = [base]
        seen: set[str] = set()
        started = threading.Event()
        done = threading.Event()
        chunks: list[dict[str, Any]] = []
        streamed = {"stdout": 0, "stderr": 0}
        kept: dict[str, list[str]] = {"stdout": [], "stderr": []}
        failure: list[BaseException] = []
        ended: list[float] = []
        began = time.monotonic()

        def hostile() -> None:
            try:
                with self.server.client(timeout=400) as client, client.stream(
                    "POST", "/api/code/run", json=body
                ) as response:
                    assert response.status_code == 200, response.read()
                    for line in response.iter_lines():
                        if not line.strip():
                            continue
                        chunk = json.loads(line)
                        if chunk_delay:
                            time.sleep(chunk_delay)
                        if on_chunk is not None:
                            on_chunk(chunk)
                        event = chunk["event"]
                        if event in streamed:
                            data = chunk["data"].encode()
                            if streamed[event] < KEEP_BYTES:
                                kept[event].append(chunk["data"])
                            streamed[event] += len(data)
                            started.set()
                        else:
                            chunks.append(chunk)
                            if event == "info" and chunk["data"].startswith("Using a"):
                                started.set()
            except BaseException as exc:  # reported in the main thread
                failure.append(exc)
            finally:
                ended.append(time.monotonic())
                started.set()
                done.set()

        def sample() -> None:
            last_listing = 0.0
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(self.pid))
                if time.monotonic() - last_listing > 0.5:
                    seen.update(containers_of(self.server))
                    last_listing = time.monotonic()
                time.sleep(0.05)

        worker = threading.Thread(target=hostile, daemon=True)
        sampler = threading.Thread(target=sample, daemon=True)
        worker.start()
        sampler.start()
        started.wait(300)
        probes: list[float] = []
        overlapped = 0
        with self.server.client(timeout=PROBE_LIVENESS + 30) as client:
            while not done.is_set() or not probes:
                t0 = time.monotonic()
                response = client.post("/api/code/run", json=PROBE)
                latency = time.monotonic() - t0
                lines = [json.loads(x) for x in response.text.splitlines() if x.strip()]
                assert lines[-1]["event"] == "result", lines[-3:]
                assert lines[-1]["data"]["stdout"] == "hi\n", lines[-1]
                probes.append(latency)
                if not ended or t0 < ended[0]:
                    overlapped += 1
                time.sleep(0.2)
        worker.join(60)
        sampler.join(5)
        seconds = time.monotonic() - began
        if failure:
            raise failure[0]

        assert chunks, "the hostile stream sent nothing"
        finals = [c for c in chunks if c["event"] in ("result", "error")]
        assert len(finals) == 1 and chunks[-1] is finals[0], chunks[-5:]
        assert overlapped >= min_probes, (
            f"only {overlapped} probe(s) started while the hostile run went on")
        assert max(probes) < PROBE_LIVENESS, f"a probe took {max(probes):.1f} s"
        left = self.wait_no_containers()
        assert left == [], f"containers left behind: {left}"
        for cid in seen:
            assert cgroup_dirs(cid) == [], f"cgroup (processes) of {cid[:12]} left behind"
            assert not Path(f"/var/lib/docker/containers/{cid}").exists(), (
                f"engine state of {cid[:12]} left behind")
        assert list(self.tmpdir.iterdir()) == [], "the service left temp files"
        assert self.server.process is not None and self.server.process.poll() is None
        assert "Traceback" not in self.server.log()

        outcome = Outcome(
            last=chunks[-1], infos=[c["data"] for c in chunks if c["event"] == "info"],
            streamed=streamed, text={k: "".join(v) for k, v in kept.items()},
            seconds=seconds, probes=probes, base_rss_kib=base, peak_rss_kib=peak[0],
            containers_seen=seen,
        )
        self._report(name, outcome)
        return outcome

    def _report(self, name: str, outcome: Outcome) -> None:
        path = os.environ.get(REPORT_ENV)
        if not path:
            return
        last = outcome.last["data"]
        summary = {k: last.get(k) for k in ("exit_code", "timeout", "oom_killed",
                                           "stdout_truncated", "stderr_truncated",
                                           "duration_ms", "error", "message")}
        record = {
            "case": name, "seconds": round(outcome.seconds, 2), "end": outcome.last["event"],
            **summary, "streamed": outcome.streamed,
            "rss_base_mib": round(outcome.base_rss_kib / 1024, 1),
            "rss_peak_mib": round(outcome.peak_rss_kib / 1024, 1),
            "probes": len(outcome.probes),
            "probe_max_s": round(max(outcome.probes), 2),
            "probe_median_s": round(sorted(outcome.probes)[len(outcome.probes) // 2], 2),
        }
        with open(path, "a") as out:
            out.write(json.dumps(record) + "\n")


def bash(code: str, **limits: Any) -> dict[str, Any]:
    return {"code": code, "lang": "bash", "timeout": 5, **limits}


def python(code: str, **limits: Any) -> dict[str, Any]:
    return {"code": code, "lang": "python", "timeout": 5, **limits}
