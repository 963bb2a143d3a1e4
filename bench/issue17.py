"""The measurements behind the speed goals: `docker exec` through the Engine API (not the
CLI), the Engine API calls a run makes, function runs of compiled languages against one-off
runs, `scripts/serve` from a fresh clone, and the table of ratios beside main's values."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

# main's values in issue 17 (one bench run there), beside ours.
MAIN = {
    "typescript_over_javascript": 5.3,
    "go_over_python": 7.6,
    "rust_over_python": 4.8,
    "throughput_8_over_engine_ceiling": 0.81,
    "serve_fresh_clone_s": 73.0,
    "venv_mib": 415.0,
    "function_over_one_off_go": None,
    "function_over_one_off_rust": None,
    "python_http_over_exec_api": 1.5,
    "javascript_over_python": 2.5,  # 2.3 to 2.8
}
GOALS = {
    "typescript_over_javascript": "<= 1.3", "go_over_python": "<= 4.0",
    "rust_over_python": "<= 3.2", "throughput_8_over_engine_ceiling": ">= 0.92",
    "serve_fresh_clone_s": "<= 20", "venv_mib": "<= 100",
    "function_over_one_off_go": "<= 0.6", "function_over_one_off_rust": "<= 0.6",
    "python_http_over_exec_api": "<= 0.8", "javascript_over_python": "<= 1.5",
}
PY_HELLO = 'print("hello")'
FUNCTIONS = {
    "go": ('package main\n\nfunc run(input string) (string, error) {\n\treturn "hello", nil\n}\n',
           'package main\nimport "fmt"\nfunc main() { fmt.Println("hello") }\n'),
    "rust": ('pub fn run(input: String) -> Result<String, String> { Ok("hello".into()) }\n',
             'fn main() { println!("hello"); }\n'),
}


def exec_through_api(image: str, n: int, timed: Callable[..., Any]) -> Any:
    """`docker exec` of python hello in a running container, through the Engine API
    (exec create, start with the output attached, inspect for the exit code)."""
    from tinirun.engine.container import Isolation, Limits, container_config
    from tinirun.engine.docker import Engine

    async def measure() -> Any:
        engine = Engine()
        config = container_config(image, ["sleep", "infinity"], {},
                                  Limits(memory_mb=256, cpu=0.5), Isolation(),
                                  {"tinirun.kind": "bench"})
        config.update(AttachStdin=False, OpenStdin=False, StdinOnce=False)
        container = await engine.docker.containers.create(config=config)
        await container.start()
        loop = asyncio.get_running_loop()
        try:
            async def once() -> None:
                execution = await container.exec(["python3", "-c", PY_HELLO])
                async with execution.start(detach=False) as stream:
                    while await stream.read_out() is not None:
                        pass
                if (await execution.inspect())["ExitCode"] != 0:
                    raise RuntimeError("exec failed")

            samples = []
            await once()
            for _ in range(n):
                started = loop.time()
                await once()
                samples.append((loop.time() - started) * 1000)
            return samples
        finally:
            await container.delete(force=True)
            await engine.close()

    series = timed(lambda: None, 0, "docker exec through the Engine API", warmup=0)
    series.samples = asyncio.run(measure())
    return series


def python_lifecycle(image: str, concurrency: int, total: int) -> dict[str, Any]:
    """Python hello's own container lifecycle, without the service (no HTTP, queue or pool):
    create, attach and start with the launcher boot, the payload in, the output read to the
    trailer, the removal; `concurrency` at once. What one run costs the engine and the
    container, against the ceiling's `true` without attach."""
    from tinirun.engine.container import Isolation, Limits, container_config
    from tinirun.engine.docker import Engine
    from tinirun.languages import get_language
    from tinirun.models import RunLimits
    from tinirun.runner import boot
    from tinirun.runner.run import PreparedRun, payload

    language = get_language("python")
    command = boot.launcher_boot(language, language.run) or boot.SHELL_BOOT
    config = container_config(image, command, language.env, Limits(memory_mb=256, cpu=0.5),
                              Isolation(), {"tinirun.kind": "bench"})
    prepared = PreparedRun(language=language, code=PY_HELLO, dependencies=[], files=[],
                           limits=RunLimits())

    async def measure() -> float:
        engine = Engine()
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                stdin = payload(prepared)
                attached = await engine.start(config)
                async for _ in attached.feed(stdin.data, 30, mark=boot.marker(stdin.nonce)):
                    pass

        started = time.perf_counter()
        try:
            await asyncio.gather(*(one() for _ in range(total)))
        finally:
            await engine.close()  # waits for the removals
        return total / (time.perf_counter() - started)

    return {"concurrency": concurrency, "runs_per_s": round(asyncio.run(measure()), 2)}


def engine_calls_per_run(n: int) -> dict[str, float]:
    """Engine API calls per python hello run (warm pool on), counted by the adapter: the run's
    own and the pool's refill of the container it took."""
    from tinirun.engine.container import Isolation
    from tinirun.engine.docker import Engine
    from tinirun.languages import get_language
    from tinirun.models import RunRequest
    from tinirun.runner.images import ImageManager
    from tinirun.runner.pool import PoolSettings, WarmPool
    from tinirun.runner.run import Runner

    async def measure() -> dict[str, float]:
        engine = Engine()
        pool = WarmPool(engine, PoolSettings(size=2))
        runner = Runner(engine, ImageManager(engine), Isolation(), pool)
        language = get_language("python")
        prepared = runner.prepare(RunRequest.model_validate({"code": PY_HELLO, "lang": "python"}))
        runner.warm(runner.images.runtime_tag(language), language.env, runner.boot_for(language))

        async def refilled() -> None:
            for _ in range(6000):
                if pool.idle_count() >= 2:
                    return
                await asyncio.sleep(0.01)
        try:
            async for _ in runner.run(prepared):  # the pool exists and fills
                pass
            await refilled()
            before = Counter(engine.calls)
            for _ in range(n):
                async for _ in runner.run(prepared):
                    pass
                await refilled()  # the refill is part of the run's cost
            await engine.settled()  # the runs' removals, in the background
            spent = Counter(engine.calls)
            spent.subtract(before)
            return {kind: round(count / n, 2) for kind, count in sorted(spent.items()) if count}
        finally:
            await pool.close()
            await engine.close()

    return asyncio.run(measure())


def function_vs_one_off(svc: Any, n: int, timed: Callable[..., Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for lang, (function_code, program) in FUNCTIONS.items():
        name = f"bench-{lang}-" + "".join(chr(ord("a") + int(c, 16) % 26)
                                          for c in uuid.uuid4().hex[:6])
        last = json.loads(svc.client.post("/api/function", json={
            "name": name, "language": lang, "code": function_code}).text.strip().splitlines()[-1])
        if last["event"] == "error":
            out[lang] = {"error": last["data"].get("message")}
            continue

        def call(name: str = name) -> None:
            svc.client.post(f"/api/function/{name}/run", json={"input": ""}).raise_for_status()

        fn = timed(call, n, f"function run {lang}", warmup=2)
        one = timed(lambda p=program, lang=lang: svc.run({"code": p, "lang": lang}), n,
                    f"one-off {lang}")
        svc.client.delete(f"/api/function/{name}")
        out[lang] = {"function": fn.as_dict(), "one_off": one.as_dict(),
                     "ratio": round(fn.median / one.median, 2)}
        print(f"  {lang}: function {fn.median:.1f} ms, one-off {one.median:.1f} ms, "
              f"ratio {fn.median / one.median:.2f}")
    return out


def serve_from_fresh_clone(root: Path) -> dict[str, Any]:
    """`scripts/serve` from a clone of this repository's HEAD to listening (images present):
    the install of the runtime dependencies and the service's start."""
    with tempfile.TemporaryDirectory(prefix="tinirun-clone-") as tmp:
        clone = Path(tmp) / "tinirun"
        subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")}
        env.update(RUNNER_API_KEY="bench", RUNNER_PORT=str(port),
                   RUNNER_DATA_DIR=str(Path(tmp) / "data"))
        started = time.monotonic()
        process = subprocess.Popen([str(clone / "scripts" / "serve")], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        try:
            while time.monotonic() - started < 600:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    time.sleep(0.1)
            seconds = time.monotonic() - started
        finally:
            process.terminate()
            process.wait(60)
        size = sum(f.stat().st_size for f in (clone / ".venv").rglob("*") if f.is_file())
        shutil.rmtree(clone, ignore_errors=True)
    return {"seconds": round(seconds, 1), "venv_mib": round(size / 2**20, 1)}


def ratio_table(report: dict[str, Any]) -> list[tuple[str, float | None, float | None, str]]:
    """(what, main, here, goal) for each row of issue 17's table."""
    hello = {row["name"].split()[-1]: row["median_ms"] for row in report["languages"]}
    tp = next((r for r in report["throughput"] if r["concurrency"] == 8), None)
    ceiling = report["baselines"]["engine_floor"]["containers_per_s"]
    fns = report.get("functions_compiled", {})
    serve = report.get("serve") or {}
    here = {
        "typescript_over_javascript": hello["typescript"] / hello["javascript"],
        "go_over_python": hello["go"] / hello["python"],
        "rust_over_python": hello["rust"] / hello["python"],
        "throughput_8_over_engine_ceiling": tp["runs_per_s"] / ceiling if tp else None,
        "serve_fresh_clone_s": serve.get("seconds"),
        "venv_mib": serve.get("venv_mib"),
        "function_over_one_off_go": fns.get("go", {}).get("ratio"),
        "function_over_one_off_rust": fns.get("rust", {}).get("ratio"),
        "python_http_over_exec_api": hello["python"]
        / report["baselines"]["docker_exec_api"]["median_ms"],
        "javascript_over_python": hello["javascript"] / hello["python"],
    }
    return [(what, MAIN[what], None if value is None else round(value, 2), GOALS[what])
            for what, value in here.items()]


def markdown_rows(report: dict[str, Any]) -> list[str]:
    lines = ["", "## Issue 17's table (this run beside main's values)", "",
             "| what | main | this run | goal |", "|---|---|---|---|"]
    for what, main, here, goal in ratio_table(report):
        lines.append(f"| {what} | {'not measured' if main is None else main} | "
                     f"{'n/a' if here is None else here} | {goal} |")
    calls = report.get("engine_calls_per_run") or {}
    lines += ["", "Engine API calls per python run (warm pool, its refill included): "
              + ", ".join(f"{k} {v}" for k, v in calls.items()) + "."]
    against = report.get("against")
    if against:
        lines += ["", f"## Against {against['rev']} (same run, alternating)", "",
                  "| what | that revision ms | this one ms | ratio |", "|---|---|---|---|"]
        for row in against["rows"]:
            lines.append(f"| {row['what']} | {row['base_ms']} | {row['here_ms']} | "
                         f"{row['ratio']} |")
        tp = against.get("throughput_8")
        if tp:
            lines += ["", f"Python hello at concurrency 8, two alternating rounds each: "
                      f"{against['rev']} {tp['base']} runs/s, this one {tp['here']} runs/s "
                      f"(ratio {tp['here'] / tp['base']:.2f}; rounds {tp['rounds']})."]
    return lines
