"""Output floods against the service, with and without its stream budget: what a 1 GiB flood
costs the service (resident memory), the client (bytes received) and the other runs (latency
of hello-world probes beside it). Writes bench/results/floods.md.

Run: .venv/bin/python bench/floods.py  (needs a Docker engine and the runtime images)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile.harness import PROBE, Hostile, python  # noqa: E402
from tests.hostile.test_floods import flood  # noqa: E402
from tests.integration.server import make_server  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "floods.md"
GIB_MIB = 1024


def idle_probes(hostile: Hostile, n: int = 10) -> list[float]:
    latencies = []
    with hostile.server.client() as client:
        for _ in range(n):
            t0 = time.monotonic()
            client.post("/api/code/run", json=PROBE)
            latencies.append(time.monotonic() - t0)
    return latencies


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinirun-floods-") as tmp:
        for label, budget in (("default budget (16 MiB)", None), ("budget off (2 GiB)", "2147483648")):
            root = Path(tmp) / label.split()[0]
            root.mkdir()
            tmpdir = root / "service-tmp"
            tmpdir.mkdir()
            env = {"RUNNER_POOL_SIZE": "0", "TMPDIR": str(tmpdir)}
            if budget:
                env["RUNNER_MAX_STREAM_BYTES"] = budget
            server = make_server(root, **env)
            server.start()
            try:
                hostile = Hostile(server, tmpdir)
                idle = idle_probes(hostile)
                for stream in ("stdout", "stderr"):
                    body = python(flood(stream, GIB_MIB), cpu_limit=1.0, timeout=300)
                    outcome = hostile.survive(body, name=f"{label}: 1 GiB to {stream}")
                    rows.append((label, stream, outcome, idle))
                    print(label, stream, f"{outcome.seconds:.1f} s",
                          f"peak RSS {outcome.peak_rss_kib / 1024:.0f} MiB", flush=True)
            finally:
                server.stop()
    lines = [
        "# Output floods: 1 GiB to one stream, hello-world probes beside it",
        "",
        f"Machine: 2 cores. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
        "`bench/floods.py`; the service on fresh containers (no warm pool).",
        "",
        "| budget | stream | seconds | streamed to client MiB | service RSS before → peak MiB "
        "| probe median s (idle) | probe max s |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, stream, outcome, idle in rows:
        streamed = sum(outcome.streamed.values()) / (1024 * 1024)
        lines.append(
            f"| {label} | {stream} | {outcome.seconds:.1f} | {streamed:.0f} | "
            f"{outcome.base_rss_kib / 1024:.0f} → {outcome.peak_rss_kib / 1024:.0f} | "
            f"{statistics.median(outcome.probes):.2f} ({statistics.median(idle):.2f}) | "
            f"{max(outcome.probes):.2f} |")
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
