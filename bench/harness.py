"""The bench's harness: timed series, a service started for the bench, load at a
concurrency, the server's peak memory, and the hello world programs and container isolation
every measurement shares."""

from __future__ import annotations

import concurrent.futures
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
KEY = "bench-key"
HELLO = {
    "bash": 'echo "hello"',
    "go": 'package main\nimport "fmt"\nfunc main() { fmt.Println("hello") }\n',
    "javascript": 'console.log("hello")',
    "python": 'print("hello")',
    "rust": 'fn main() { println!("hello"); }\n',
    "typescript": 'const s: string = "hello";\nconsole.log(s);',
}
PY_HELLO = 'print("hello")'
# The same isolation as the service's containers, as docker CLI flags.
ISOLATION = [
    "--network", "none", "--read-only",
    "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=100m",
    "--tmpfs", "/work:rw,exec,nosuid,nodev,size=256m,uid=1000,gid=1000",
    "--memory", "256m", "--memory-swap", "256m", "--cpus", "0.5", "--pids-limit", "50",
    "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--ipc", "private",
    "--cgroupns", "private", "--init", "--user", "1000:1000", "--log-driver", "none",
    "--ulimit", "core=0", "--ulimit", "nofile=256:256", "-w", "/work",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


@dataclass
class Series:
    """Latencies of one measured thing, in milliseconds."""

    name: str
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "n": len(self.samples), "median_ms": round(self.median, 1),
                "p95_ms": round(self.p95, 1)}


def timed(fn: Callable[[], Any], n: int, name: str, warmup: int = 1) -> Series:
    for _ in range(warmup):
        fn()
    series = Series(name)
    for _ in range(n):
        started = time.perf_counter()
        fn()
        series.samples.append((time.perf_counter() - started) * 1000)
    return series


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """A tinirun server in a subprocess."""

    def __init__(self, data_dir: Path, root: Path | None = None, **env: str) -> None:
        self.port = free_port()
        environ = {k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")
                   or k == "RUNNER_EXTRA_CA_BUNDLE"}
        environ.update({"RUNNER_API_KEY": KEY, "RUNNER_PORT": str(self.port),
                        "RUNNER_DATA_DIR": str(data_dir), **env})
        if root is not None:  # another revision's code, with this environment's packages
            environ["PYTHONPATH"] = f"{root}:{root / 'clients' / 'python' / 'src'}"
        self.process = subprocess.Popen([sys.executable, "-m", "tinirun.cli", "serve"],
                                        env=environ, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, cwd=root)
        self.url = f"http://127.0.0.1:{self.port}"
        # NDJSON asked for (SSE is the default stream).
        self.client = httpx.Client(base_url=self.url, headers={"X-Runner-Api-Key": KEY,
                                                               "Accept": "application/x-ndjson"},
                                   timeout=600, limits=httpx.Limits(max_connections=64))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.client.get("/api/openapi.json").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        time.sleep(3)  # let the warm pools fill

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def run(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post("/api/code/run", json=body)
        response.raise_for_status()
        last = json.loads(response.text.strip().splitlines()[-1])
        if last["event"] != "result":
            raise RuntimeError(f"run failed: {last}")
        data: dict[str, Any] = last["data"]
        return data

    def close(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(60)


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def runtime_tag(lang: str) -> str:
    from tinirun.engine.docker import Engine
    from tinirun.languages import get_language
    from tinirun.runner.images import ImageManager

    return ImageManager(Engine()).runtime_tag(get_language(lang))


def load(run_once: Callable[[], object], concurrency: int, total: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal errors
        started = time.perf_counter()
        try:
            run_once()
        except Exception:
            with lock:
                errors += 1
            return
        with lock:
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda _: worker(), range(total)))
    elapsed = time.perf_counter() - started
    return {"concurrency": concurrency, "runs": total, "errors": errors,
            "runs_per_s": round(len(latencies) / elapsed, 2),
            "p95_ms": round(percentile(latencies, 0.95), 1),
            "median_ms": round(statistics.median(latencies), 1) if latencies else None}


class CpuUse:
    """CPU time (ms) the whole machine spent while the `with` block ran (from /proc/stat: every
    process and the kernel, with the engine's daemons, the containers and this bench), and
    that of the process `pid` (the service), when given. On a machine whose cores are all
    busy, runs per second is the cores' time over a run's CPU: this says where it goes.

    The block's end waits for the machine to settle (a tenth of a second with less than a
    tenth of a core busy, at most 10 s): removals and refills behind the last runs count."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid
        self.busy_ms = 0.0
        self.pid_ms = 0.0

    @staticmethod
    def _busy() -> float:
        # user, nice, system, idle, iowait, irq, softirq, steal, guest (in user), guest_nice
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6]
        return busy * 1000 / os.sysconf("SC_CLK_TCK")

    def _pid_cpu(self) -> float:
        if self.pid is None:
            return 0.0
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> CpuUse:
        self._start = (self._busy(), self._pid_cpu())
        return self

    def __exit__(self, *exc: object) -> None:
        deadline = time.monotonic() + 10
        last = self._busy()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self._busy()
            if now - last < 10:  # ms of CPU in 100 ms, all cores together
                break
            last = now
        self.busy_ms = self._busy() - self._start[0]
        self.pid_ms = self._pid_cpu() - self._start[1]

    def per(self, runs: int) -> dict[str, float]:
        """CPU ms per run: the machine's, and the process's."""
        out = {"machine_cpu_ms": round(self.busy_ms / runs, 1)}
        if self.pid is not None:
            out["service_cpu_ms"] = round(self.pid_ms / runs, 1)
        return out


class PeakRss:
    """The server's largest RSS (KiB) while the `with` block runs, sampled every 50 ms."""

    def __init__(self, svc: Service) -> None:
        self.svc = svc
        self.peak = 0
        self._sampling = False
        self._thread = threading.Thread(target=self._sample)

    def _sample(self) -> None:
        while self._sampling:
            self.peak = max(self.peak, self.svc.rss_kb())
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._sampling = True
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sampling = False
        self._thread.join()
