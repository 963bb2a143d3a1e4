"""What tinirun is measured against, in the same run: a plain `docker run --rm` of the same
image and isolation, `docker exec` in a running container (the floor), an image build per run
(the original's approach), the engine's own container lifecycle ceiling, a fresh container per
run under load, and another revision of tinirun side by side."""

from __future__ import annotations

import functools
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.harness import (
    HELLO,
    ISOLATION,
    PY_HELLO,
    ROOT,
    Series,
    Service,
    docker,
    load,
    runtime_tag,
    timed,
)

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


def against(rev: str, svc: Service, n: int, data_dir: Path,
            per_level: int = 0) -> dict[str, Any]:
    """Python and JavaScript hello (runs that write no output file) on this revision and on
    `rev`, the two services side by side, runs alternating; with `per_level`, python hello's
    throughput at concurrency 8 on each, in two rounds that alternate (each service idle while
    the other is measured)."""
    with tempfile.TemporaryDirectory(prefix="tinirun-rev-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree),
                        rev], check=True)
        try:
            base = Service(data_dir, root=tree, RUNNER_MAX_CONCURRENT_RUNS="64",
                           RUNNER_QUEUE_SIZE="256")
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
                rounds: dict[str, list[float]] = {"here": [], "base": []}
                body = {"code": HELLO["python"], "lang": "python"}
                for _ in range(2 if per_level else 0):
                    for service, key in ((svc, "here"), (base, "base")):
                        level = load(functools.partial(service.run, body), 8, per_level)
                        rounds[key].append(level["runs_per_s"])
                throughput = {key: round(statistics.mean(v), 2) for key, v in rounds.items() if v}
                if throughput:
                    print(f"  python runs/s at concurrency 8: {rev} {throughput['base']}, "
                          f"here {throughput['here']} (rounds {rounds})")
            finally:
                base.close()
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           check=False)
    result: dict[str, Any] = {"rev": rev, "rows": rows}
    if throughput:
        result["throughput_8"] = {**throughput, "rounds": rounds}
    return result


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
