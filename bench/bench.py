"""tinirun's benchmark: end to end through HTTP, side by side with its baselines, in one run.

Measures hello world per language, dependency runs (first and cached), a function run vs a
one-off run, throughput and p95 at several concurrencies, the server's memory under load and
under streaming floods; and the baselines: `docker run --rm` of the same image with the same
isolation, `docker exec` in a running container (the floor), and an image build per run (the
original's approach). Every figure is printed with its ratio to the baselines and written as
JSON and Markdown.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import issue17  # noqa: E402  (bench/ is run as a script)

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


# --- the measurements ---------------------------------------------------------------------


def bench_languages(svc: Service, n: int) -> list[Series]:
    out = []
    for lang, code in HELLO.items():
        body = {"code": code, "lang": lang}
        series = timed(lambda b=body: svc.run(b), n, f"hello {lang}")  # type: ignore[misc]
        out.append(series)
        print(f"  {series.name:24} median {series.median:7.1f} ms  p95 {series.p95:7.1f} ms")
    return out


def bench_dependencies(svc: Service, n: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    # Each with the same program importing a module of the standard library instead, so that
    # the ratio is the cost of the dependency image, not of another kind of program.
    cases = {
        "python": ("import six\nprint(six.__version__)", ["six==1.16.0"],
                   "import json\nprint(json.__name__)"),
        "javascript": ("import isNumber from 'is-number';\nconsole.log(isNumber(1))",
                       ["is-number@7.0.0"],
                       "import path from 'path';\nconsole.log(path.isAbsolute('/'))"),
    }
    for lang, (code, deps, plain_code) in cases.items():
        body = {"code": code, "lang": lang, "dependencies": deps}
        # Remove this list's image first, so that the first run builds it.
        for image in docker("images", "-q", f"tinirun-deps-{lang}").stdout.split():
            docker("rmi", "-f", image, check=False)
        started = time.perf_counter()
        svc.run(body)
        first = (time.perf_counter() - started) * 1000
        cached = timed(lambda b=body: svc.run(b), n, f"{lang} cached deps", warmup=0)  # type: ignore[misc]
        plain_body = {"code": plain_code, "lang": lang}
        plain = timed(lambda b=plain_body: svc.run(b), n, f"{lang} no deps")  # type: ignore[misc]
        results[lang] = {"first_ms": round(first, 1), "cached": cached.as_dict(),
                         "no_deps": plain.as_dict(),
                         "cached_over_no_deps": round(cached.median / plain.median, 2)}
        print(f"  {lang:10} first {first:8.1f} ms  cached median {cached.median:7.1f} ms  "
              f"no-deps median {plain.median:7.1f} ms  ratio {cached.median / plain.median:.2f}")
    return results


def bench_function(svc: Service, n: int) -> dict[str, Any]:
    name = "bench-" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:8])
    code = "def run(input: str) -> str:\n    return 'hello'\n"
    for path, body in (("/api/function", {"name": name, "language": "python"}),
                       (f"/api/function/{name}", {"code": code})):
        last = json.loads(svc.client.post(path, json=body).text.strip().splitlines()[-1])
        if last["event"] == "error":
            raise RuntimeError(f"function build failed: {last['data']}")

    def call() -> None:
        response = svc.client.post(f"/api/function/{name}/run", json={"input": ""})
        response.raise_for_status()

    fn = timed(call, n, "function run", warmup=2)
    one_off = timed(lambda: svc.run({"code": "print('hello')", "lang": "python"}), n,
                    "one-off run of the same code", warmup=1)
    svc.client.delete(f"/api/function/{name}")
    print(f"  function median {fn.median:.1f} ms vs one-off {one_off.median:.1f} ms "
          f"(ratio {fn.median / one_off.median:.2f})")
    return {"function": fn.as_dict(), "one_off": one_off.as_dict(),
            "function_over_one_off": round(fn.median / one_off.median, 2)}


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


def bench_throughput(svc: Service, levels: list[int], per_level: int) -> tuple[list[dict[str, Any]], int]:
    out = []
    with PeakRss(svc) as rss:
        for c in levels:
            row = load(lambda: svc.run({"code": PY_HELLO, "lang": "python"}), c,
                       max(per_level, 2 * c))
            out.append(row)
            print(f"  concurrency {c:3}: {row['runs_per_s']:6.2f} runs/s  p95 {row['p95_ms']:8.1f} ms"
                  f"  errors {row['errors']}")
    return out, rss.peak


def bench_streaming_memory(svc: Service, clients: int, mib: int) -> dict[str, Any]:
    code = ("import sys\nchunk = 'x' * 1023 + '\\n'\n"
            f"for _ in range({mib} * 1024):\n    sys.stdout.write(chunk)\n")
    received = [0] * clients

    def client(i: int) -> None:
        with svc.client.stream("POST", "/api/code/run",
                               json={"code": code, "lang": "python", "timeout": 120}) as response:
            for part in response.iter_bytes():
                received[i] += len(part)

    before = svc.rss_kb()
    started = time.perf_counter()
    with PeakRss(svc) as rss, concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    peak = rss.peak
    elapsed = time.perf_counter() - started
    print(f"  {clients} clients x {mib} MiB: RSS before {before / 1024:.0f} MiB, peak "
          f"{peak / 1024:.0f} MiB, {sum(received) / 2**20 / elapsed:.0f} MiB/s streamed")
    return {"clients": clients, "mib_each": mib, "rss_before_mib": round(before / 1024, 1),
            "rss_peak_mib": round(peak / 1024, 1), "seconds": round(elapsed, 1),
            "streamed_mib_per_s": round(sum(received) / 2**20 / elapsed, 1)}


# --- baselines ----------------------------------------------------------------------------


def baseline_docker_run(lang: str, n: int) -> Series:
    """The same program in a plain `docker run --rm` of the same image, same isolation, same
    boot command and payload on stdin."""
    from tinirun.languages import get_language
    from tinirun.models import RunLimits
    from tinirun.runner.run import BOOT_COMMAND, PreparedRun, payload

    language = get_language(lang)
    data = payload(PreparedRun(language=language, code=HELLO[lang], dependencies=[], files=[],
                               limits=RunLimits())).data
    env = [arg for k, v in language.env.items() for arg in ("-e", f"{k}={v}")]

    def once() -> None:
        subprocess.run(["docker", "run", "-i", "--rm", *ISOLATION, *env, runtime_tag(lang),
                        *BOOT_COMMAND], input=data, capture_output=True, check=True)

    return timed(once, n, f"docker run --rm {lang}")


def against(rev: str, svc: Service, n: int, data_dir: Path) -> dict[str, Any]:
    """Python and JavaScript hello (runs that write no output file) on this revision and on
    `rev`, the two services side by side, runs alternating."""
    with tempfile.TemporaryDirectory(prefix="tinirun-rev-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree),
                        rev], check=True)
        try:
            base = Service(data_dir, root=tree, RUNNER_MAX_CONCURRENT_RUNS="64")
            rows = []
            try:
                for lang in ("python", "javascript"):
                    body = {"code": HELLO[lang], "lang": lang}
                    here, there = Series(f"{lang} here"), Series(f"{lang} {rev}")
                    for service in (svc, base):
                        service.run(body)
                    for _ in range(n):
                        for service, series in ((svc, here), (base, there)):
                            started = time.perf_counter()
                            service.run(body)
                            series.samples.append((time.perf_counter() - started) * 1000)
                    rows.append({"what": f"{lang} hello", "base_ms": round(there.median, 1),
                                 "here_ms": round(here.median, 1),
                                 "ratio": round(here.median / there.median, 2)})
                    print(f"  {lang}: {rev} {there.median:.1f} ms, here {here.median:.1f} ms")
            finally:
                base.close()
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           check=False)
    return {"rev": rev, "rows": rows}


def baseline_docker_exec(image: str, n: int) -> Series:
    name = f"tinirun-bench-exec-{uuid.uuid4().hex[:6]}"
    docker("run", "-d", "--name", name, "--label", "tinirun=1", *ISOLATION, image,
           "sleep", "infinity")
    try:
        return timed(lambda: docker("exec", name, "python3", "-c", PY_HELLO), n,
                     "docker exec (the floor)")
    finally:
        docker("rm", "-f", name, check=False)


def baseline_build_per_run(image: str, n: int) -> Series:
    """The original's approach: an image with the code built for every run, then run."""
    def once() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            marker = uuid.uuid4().hex
            Path(tmp, "main.py").write_text(f"# {marker}\n{PY_HELLO}\n")
            Path(tmp, "Dockerfile").write_text(
                f"FROM {image}\nWORKDIR /app\nCOPY main.py /app/main.py\n"
                'CMD ["python3", "/app/main.py"]\n')
            tag = f"tinirun-bench-build:{marker[:12]}"
            docker("build", "-q", "--label", "tinirun=1", "-t", tag, tmp)
            try:
                docker("run", "--rm", *[a for a in ISOLATION if a != "-w" and a != "/work"],
                       tag)
            finally:
                docker("rmi", "-f", tag, check=False)
    return timed(once, n, "build per run (original)")


def baseline_engine_floor(image: str, concurrency: int, total: int) -> dict[str, Any]:
    """How many container lifecycles (create, start, wait, remove) of `true` the engine
    completes per second: the ceiling of any service that gives each run its own container."""
    import asyncio

    from tinirun.engine.container import Isolation, Limits, container_config
    from tinirun.engine.docker import Engine

    config = container_config(image, ["true"], {}, Limits(memory_mb=256, cpu=0.5),
                              Isolation(), {"tinirun.kind": "bench"})
    config.update(AttachStdin=False, OpenStdin=False, StdinOnce=False)

    async def measure() -> float:
        engine = Engine()
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                container = await engine.docker.containers.create(config=config)
                await container.start()
                await container.wait()
                await container.delete(force=True)

        started = time.perf_counter()
        try:
            await asyncio.gather(*(one() for _ in range(total)))
        finally:
            await engine.close()
        return total / (time.perf_counter() - started)

    return {"concurrency": concurrency, "containers_per_s": round(asyncio.run(measure()), 2)}


def baseline_fresh_throughput(image: str, concurrency: int, total: int) -> dict[str, Any]:
    return load(lambda: docker("run", "--rm", *ISOLATION, image, "python3", "-c", PY_HELLO) and None,
                concurrency, total)


# --- report -------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    b = report["baselines"]
    run_ms, exec_ms, build_ms = (b["docker_run"]["median_ms"], b["docker_exec"]["median_ms"],
                                 b["build_per_run"]["median_ms"])
    lines = [
        f"# tinirun benchmark ({report['when']})", "",
        f"Machine: {report['machine']}. Medians over {report['n']} runs unless said; one run of "
        "`bench/run`, every figure from the same run.", "",
        "## Python hello world vs the baselines", "",
        "| what | median ms | p95 ms | vs docker run --rm | vs docker exec | vs build per run |",
        "|---|---|---|---|---|---|",
    ]
    py = next(s for s in report["languages"] if s["name"] == "hello python")
    for name, row in [("tinirun (HTTP, warm pool)", py), ("docker run --rm", b["docker_run"]),
                      ("docker exec (floor)", b["docker_exec"]),
                      ("build per run (original)", b["build_per_run"])]:
        m = row["median_ms"]
        lines.append(f"| {name} | {m} | {row['p95_ms']} | {m / run_ms:.2f}x | {m / exec_ms:.2f}x "
                     f"| {m / build_ms:.3f}x |")
    lines += ["", "## Hello world per language (through HTTP, warm images)", "",
              "| language | tinirun median ms | p95 ms | `docker run --rm` median ms | ratio |",
              "|---|---|---|---|---|"]
    per_lang = b["docker_run_per_language"]
    for row in report["languages"]:
        lang = row["name"].split()[-1]
        base = per_lang[lang]["median_ms"]
        lines.append(f"| {lang} | {row['median_ms']} | {row['p95_ms']} | {base} | "
                     f"{row['median_ms'] / base:.2f}x |")
    lines += ["", "## Dependencies", "",
              "| language | first run ms | cached median ms | no-deps median ms | cached / no-deps |",
              "|---|---|---|---|---|"]
    for lang, row in report["dependencies"].items():
        lines.append(f"| {lang} | {row['first_ms']} | {row['cached']['median_ms']} | "
                     f"{row['no_deps']['median_ms']} | {row['cached_over_no_deps']} |")
    f = report["function"]
    lines += ["", "## Function run vs one-off run (same code)", "",
              "| what | median ms | p95 ms |", "|---|---|---|",
              f"| function run | {f['function']['median_ms']} | {f['function']['p95_ms']} |",
              f"| one-off run | {f['one_off']['median_ms']} | {f['one_off']['p95_ms']} |",
              f"| ratio | {f['function_over_one_off']} | |"]
    fresh = report["baselines"]["fresh_throughput"]
    lines += ["", "## Throughput (python hello, through HTTP)", "",
              "| concurrency | runs/s | p95 ms | errors | vs fresh `docker run` at 8 |",
              "|---|---|---|---|---|"]
    for row in report["throughput"]:
        lines.append(f"| {row['concurrency']} | {row['runs_per_s']} | {row['p95_ms']} | "
                     f"{row['errors']} | {row['runs_per_s'] / fresh['runs_per_s']:.2f}x |")
    lines.append(f"| fresh `docker run --rm` at {fresh['concurrency']} | {fresh['runs_per_s']} | "
                 f"{fresh['p95_ms']} | {fresh['errors']} | 1.00x |")
    floor = b["engine_floor"]
    lines += ["", f"Engine floor: the engine completes {floor['containers_per_s']} container "
              f"lifecycles per second (create, start, wait, remove of `true`, "
              f"{floor['concurrency']} at once) — the ceiling for one container per run."]
    m = report["memory"]
    s = report["streaming"]
    lines += ["", "## Server memory", "",
              f"- RSS at the peak of the load: {m['load_peak_rss_mib']} MiB.",
              f"- {s['clients']} clients streaming {s['mib_each']} MiB each: RSS {s['rss_before_mib']} "
              f"MiB before, {s['rss_peak_mib']} MiB at the peak ({s['streamed_mib_per_s']} MiB/s "
              "streamed in all).", ""]
    lines += issue17.markdown_rows(report) + [""]
    return "\n".join(lines)


LANGUAGE_RATIOS = ("typescript_over_javascript", "go_over_python", "rust_over_python",
                   "function_over_one_off_go", "function_over_one_off_rust",
                   "javascript_over_python")


def languages_only(n: int) -> int:
    """`--only languages`: hello world per language, function runs of the compiled languages
    against one-off runs, and TypeScript with its type check; their ratios beside main's, from
    this one run (written to bench/results/languages.json and .md)."""
    report: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                              "n": n, "load_before": round(os.getloadavg()[0], 1)}
    with tempfile.TemporaryDirectory(prefix="tinirun-bench-") as tmp:
        svc = Service(Path(tmp) / "data")
        try:
            print("hello world per language")
            report["languages"] = [s.as_dict() for s in bench_languages(svc, n)]
            print("function vs one-off, compiled languages")
            report["functions_compiled"] = issue17.function_vs_one_off(svc, n, timed)
            body = {"code": HELLO["typescript"], "lang": "typescript", "typecheck": True}
            checked = timed(lambda: svc.run(body), max(3, n // 5), "hello typescript, typecheck")
            report["typecheck"] = checked.as_dict()
            print(f"  {checked.name}: median {checked.median:.1f} ms")
        finally:
            svc.close()
    report["load_after"] = round(os.getloadavg()[0], 1)
    hello = {row["name"].split()[-1]: row["median_ms"] for row in report["languages"]}
    fns = report["functions_compiled"]
    here = {
        "typescript_over_javascript": hello["typescript"] / hello["javascript"],
        "go_over_python": hello["go"] / hello["python"],
        "rust_over_python": hello["rust"] / hello["python"],
        "function_over_one_off_go": fns.get("go", {}).get("ratio"),
        "function_over_one_off_rust": fns.get("rust", {}).get("ratio"),
        "javascript_over_python": hello["javascript"] / hello["python"],
    }
    report["ratios"] = [{"what": what, "main": issue17.MAIN[what], "goal": issue17.GOALS[what],
                         "here": None if here[what] is None else round(here[what], 2)}
                        for what in LANGUAGE_RATIOS]
    lines = [f"# tinirun languages benchmark ({report['when']})", "",
             f"Medians over {n} runs, through HTTP, one run of `bench/run --only languages`; "
             f"load average {report['load_before']} before, {report['load_after']} after.",
             "", "| language | median ms | p95 ms |", "|---|---|---|"]
    lines += [f"| {row['name']} | {row['median_ms']} | {row['p95_ms']} |"
              for row in report["languages"]]
    lines += [f"| typescript with `typecheck` | {report['typecheck']['median_ms']} | "
              f"{report['typecheck']['p95_ms']} |", "", "| ratio | main | this run | goal |",
              "|---|---|---|---|"]
    for row in report["ratios"]:
        print(f"  {row['what']:30} main {row['main']!s:>6}  here {row['here']!s:>6}  "
              f"goal {row['goal']}")
        lines.append(f"| {row['what']} | {row['main'] or 'not measured'} | {row['here']} | "
                     f"{row['goal']} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "languages.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "languages.md").write_text("\n".join(lines) + "\n")
    print(f"written {RESULTS / 'languages.json'} and {RESULTS / 'languages.md'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["languages"],
                        help="run one part: `languages` (hello per language, compiled function "
                        "runs, the TypeScript type check) and its ratios")
    parser.add_argument("-n", type=int, default=20, help="runs per latency series (default 20)")
    parser.add_argument("--levels", default="1,4,8,16,32", help="concurrency levels")
    parser.add_argument("--per-level", type=int, default=48, help="runs per concurrency level")
    parser.add_argument("--build-runs", type=int, default=8, help="runs of build-per-run")
    parser.add_argument("--stream-clients", type=int, default=20)
    parser.add_argument("--stream-mib", type=int, default=16)
    parser.add_argument("--against", default="", help="a git revision to compare python and "
                        "javascript hello with, side by side in this run")
    parser.add_argument("--no-deps", action="store_true",
                        help="skip the dependency runs (they remove the engine's cached "
                        "dependency images of python and javascript first)")
    parser.add_argument("--no-serve", action="store_true",
                        help="skip timing scripts/serve from a fresh clone")
    args = parser.parse_args()
    if args.only == "languages":
        return languages_only(args.n)
    image = runtime_tag("python")
    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "n": args.n,
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
    }
    with tempfile.TemporaryDirectory(prefix="tinirun-bench-") as tmp:
        svc = Service(Path(tmp) / "data", RUNNER_MAX_CONCURRENT_RUNS="64", RUNNER_QUEUE_SIZE="256")
        try:
            print("hello world per language")
            report["languages"] = [s.as_dict() for s in bench_languages(svc, args.n)]
            print("dependencies")
            report["dependencies"] = {} if args.no_deps else bench_dependencies(svc, args.n)
            print("function vs one-off")
            report["function"] = bench_function(svc, args.n)
            print("function vs one-off, compiled languages")
            report["functions_compiled"] = issue17.function_vs_one_off(svc, args.n, timed)
            if args.against:
                print(f"against {args.against}")
                report["against"] = against(args.against, svc, args.n, Path(tmp) / "base")
            print("throughput")
            levels = [int(x) for x in args.levels.split(",")]
            report["throughput"], peak = bench_throughput(svc, levels, args.per_level)
            report["memory"] = {"load_peak_rss_mib": round(peak / 1024, 1)}
            print("streaming memory")
            report["streaming"] = bench_streaming_memory(svc, args.stream_clients, args.stream_mib)
        finally:
            svc.close()
    print("baselines")
    runs = {lang: baseline_docker_run(lang, args.n) for lang in HELLO}
    for series in runs.values():
        print(f"  {series.name}: median {series.median:.1f} ms")
    run = runs["python"]
    exec_ = baseline_docker_exec(image, args.n)
    print(f"  {exec_.name}: median {exec_.median:.1f} ms")
    exec_api = issue17.exec_through_api(image, args.n, timed)
    print(f"  {exec_api.name}: median {exec_api.median:.1f} ms")
    report["engine_calls_per_run"] = issue17.engine_calls_per_run(10)
    print(f"  engine API calls per run: {report['engine_calls_per_run']}")
    if not args.no_serve:
        report["serve"] = issue17.serve_from_fresh_clone(ROOT)
        print(f"  scripts/serve from a fresh clone: {report['serve']}")
    build = baseline_build_per_run(image, args.build_runs)
    print(f"  {build.name}: median {build.median:.1f} ms")
    fresh = baseline_fresh_throughput(image, 8, args.per_level)
    print(f"  fresh docker run at concurrency 8: {fresh['runs_per_s']} runs/s")
    floor = baseline_engine_floor(image, 8, args.per_level)
    print(f"  engine floor at concurrency 8: {floor['containers_per_s']} containers/s")
    report["baselines"] = {"docker_run": run.as_dict(),
                           "docker_run_per_language": {k: v.as_dict() for k, v in runs.items()},
                           "docker_exec": exec_.as_dict(),
                           "docker_exec_api": exec_api.as_dict(),
                           "build_per_run": build.as_dict(), "fresh_throughput": fresh,
                           "engine_floor": floor}
    py = next(s for s in report["languages"] if s["name"] == "hello python")["median_ms"]
    report["ratios"] = {
        "python_vs_docker_run": round(py / run.median, 3),
        "python_vs_docker_exec": round(py / exec_.median, 3),
        "build_per_run_over_python": round(build.median / py, 1),
        "throughput_at_8_vs_fresh": round(
            next(r for r in report["throughput"] if r["concurrency"] == 8)["runs_per_s"]
            / fresh["runs_per_s"], 2) if 8 in levels else None,
        "throughput_at_8_vs_engine_floor": round(
            next(r for r in report["throughput"] if r["concurrency"] == 8)["runs_per_s"]
            / floor["containers_per_s"], 2) if 8 in levels else None,
        "function_over_one_off": report["function"]["function_over_one_off"],
        "cached_deps_over_no_deps": {lang: row["cached_over_no_deps"]
                                     for lang, row in report["dependencies"].items()},
    }
    report["issue17"] = [{"what": w, "main": m, "here": h, "goal": g}
                         for w, m, h, g in issue17.ratio_table(report)]
    print(json.dumps(report["ratios"], indent=2))
    for row in report["issue17"]:
        print(f"  {row['what']:34} main {row['main']!s:>6}  here {row['here']!s:>6}  "
              f"goal {row['goal']}")
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown(report))
    print(f"written {RESULTS / 'latest.json'} and {RESULTS / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
