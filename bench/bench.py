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
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from bench import issue17  # noqa: E402
from bench.baselines import (  # noqa: E402
    against,
    baseline_build_per_run,
    baseline_docker_exec,
    baseline_docker_run,
    baseline_engine_floor,
    baseline_fresh_throughput,
)
from bench.harness import (  # noqa: E402
    HELLO,
    PY_HELLO,
    RESULTS,
    ROOT,
    CpuUse,
    PeakRss,
    Series,
    Service,
    docker,
    load,
    runtime_tag,
    timed,
)

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


def bench_throughput(svc: Service, levels: list[int], per_level: int) -> tuple[list[dict[str, Any]], int]:
    out = []
    with PeakRss(svc) as rss:
        for c in levels:
            total = max(per_level, 2 * c)
            with CpuUse(svc.process.pid) as cpu:
                row = load(lambda: svc.run({"code": PY_HELLO, "lang": "python"}), c, total)
            row["cpu"] = cpu.per(total)
            out.append(row)
            print(f"  concurrency {c:3}: {row['runs_per_s']:6.2f} runs/s  p95 {row['p95_ms']:8.1f} ms"
                  f"  errors {row['errors']}  CPU/run: machine {row['cpu']['machine_cpu_ms']} ms,"
                  f" service {row['cpu']['service_cpu_ms']} ms")
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
              "| concurrency | runs/s | p95 ms | errors | vs fresh `docker run` at 8 "
              "| machine CPU ms per run | service CPU ms per run |",
              "|---|---|---|---|---|---|---|"]
    for row in report["throughput"]:
        cpu = row.get("cpu", {})
        lines.append(f"| {row['concurrency']} | {row['runs_per_s']} | {row['p95_ms']} | "
                     f"{row['errors']} | {row['runs_per_s'] / fresh['runs_per_s']:.2f}x | "
                     f"{cpu.get('machine_cpu_ms', 'n/a')} | {cpu.get('service_cpu_ms', 'n/a')} |")
    lines.append(f"| fresh `docker run --rm` at {fresh['concurrency']} | {fresh['runs_per_s']} | "
                 f"{fresh['p95_ms']} | {fresh['errors']} | 1.00x | | |")
    floor = b["engine_floor"]
    lines += ["", f"Engine floor: the engine completes {floor['containers_per_s']} container "
              f"lifecycles per second (create, start, wait, remove of `true`, "
              f"{floor['concurrency']} at once) — the ceiling for one container per run"
              + (f"; the machine spent {floor['cpu']['machine_cpu_ms']} ms of CPU on each"
                 if "cpu" in floor else "") + "."]
    if "python_lifecycle" in b:
        alone = b["python_lifecycle"]
        lines += ["", f"A python hello's own container lifecycle without the service (create, "
                  f"attach, start with the launcher, payload, output to the trailer, remove; "
                  f"{alone['concurrency']} at once): {alone['runs_per_s']} runs/s, "
                  f"{alone['runs_per_s'] / floor['containers_per_s']:.2f} of the ceiling"
                  + (f", {alone['cpu']['machine_cpu_ms']} ms of the machine's CPU each"
                     if "cpu" in alone else "")
                  + ". Both measured just after the throughput above. On a machine whose cores "
                  "are all busy, runs per second is the cores' time over the CPU a run costs "
                  "(the engine's, the kernel's, the container's, the service's)."]
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
                report["against"] = against(args.against, svc, args.n, Path(tmp) / "base",
                                            args.per_level)
            print("throughput")
            levels = [int(x) for x in args.levels.split(",")]
            report["throughput"], peak = bench_throughput(svc, levels, args.per_level)
            report["memory"] = {"load_peak_rss_mib": round(peak / 1024, 1)}
            # Just after the throughput, so that a machine's drift over the run does not come
            # between them: the engine's ceiling, and a python run's lifecycle alone.
            with CpuUse() as cpu:
                floor = baseline_engine_floor(image, 8, args.per_level)
            floor["cpu"] = cpu.per(args.per_level)
            print(f"  engine floor at concurrency 8: {floor['containers_per_s']} containers/s, "
                  f"machine CPU {floor['cpu']['machine_cpu_ms']} ms each")
            with CpuUse() as cpu:
                lifecycle = issue17.python_lifecycle(image, 8, args.per_level)
            lifecycle["cpu"] = cpu.per(args.per_level)
            print(f"  python run's lifecycle alone at concurrency 8: "
                  f"{lifecycle['runs_per_s']} runs/s, machine CPU "
                  f"{lifecycle['cpu']['machine_cpu_ms']} ms each")
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
    report["baselines"] = {"docker_run": run.as_dict(),
                           "docker_run_per_language": {k: v.as_dict() for k, v in runs.items()},
                           "docker_exec": exec_.as_dict(),
                           "docker_exec_api": exec_api.as_dict(),
                           "build_per_run": build.as_dict(), "fresh_throughput": fresh,
                           "engine_floor": floor, "python_lifecycle": lifecycle}
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
