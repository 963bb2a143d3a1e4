"""Install-time cost of confined installs through the egress proxy, against the build main
used before them (a `docker build` on the default bridge, no limits, no proxy), in one run.

For python and javascript: the old way's build of the dependency image; a service's first run
with the list (a confined build container through the proxy, committed); and its cached runs.
Run with `bench/run` (which prepares the engine and images) or after it:

    .venv/bin/python bench/installs.py [-n 5] [--first 3]

Writes bench/results/installs.json and bench/results/installs.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import Service, docker, timed
from tinirun.engine.docker import Engine
from tinirun.languages import get_language
from tinirun.runner.images import _CA_ENV, CA_PATH, ImageManager, install_script

RESULTS = Path(__file__).parent / "results"
# Lists no test uses, so removing their images disturbs nobody.
CASES = {
    "python": ("import six\nprint(six.__version__)", ["six==1.15.0"]),
    "javascript": ("const n = require('is-number');\nconsole.log(n(1))", ["is-number@6.0.0"]),
}


def ca_bundle() -> bytes:
    path = os.environ.get("RUNNER_EXTRA_CA_BUNDLE")
    return Path(path).read_bytes() if path and Path(path).is_file() else b""


def old_build(lang: str, deps: list[str], tag: str) -> float:
    """The dependency image built as before: a Dockerfile RUN step, CA copied in."""
    language = get_language(lang)
    runtime = ImageManager(Engine()).runtime_tag(language)
    exports = " ".join(f"{k}={v}" for k, v in _CA_ENV.items()) if ca_bundle() else "X=1"
    dockerfile = (f"FROM {runtime}\nUSER root\nCOPY ca.crt {CA_PATH}\n"
                  f"RUN export {exports}; {install_script(language, deps)}; rm -f {CA_PATH}\n")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("Dockerfile", dockerfile.encode()), ("ca.crt", ca_bundle())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    started = time.perf_counter()
    result = subprocess.run(["docker", "build", "-q", "-t", tag, "-"], input=buffer.getvalue(),
                            capture_output=True)
    elapsed = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"the old-style build of {deps} failed: {result.stderr[-2000:]!r}")
    docker("rmi", tag, check=False)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=5, help="cached runs per language")
    parser.add_argument("--first", type=int, default=3, help="first runs per language")
    args = parser.parse_args()
    report: dict[str, Any] = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "load": os.getloadavg()[0], "languages": {}}
    with tempfile.TemporaryDirectory() as tmp:
        svc = Service(Path(tmp) / "data", RUNNER_POOL_SIZE="0")
        try:
            for lang, (code, deps) in CASES.items():
                language = get_language(lang)
                tag = ImageManager(Engine()).dependency_tag(language, deps)
                body = {"code": code, "lang": lang, "dependencies": deps, "timeout": 60}
                old, new = [], []
                for _ in range(args.first):
                    old.append(old_build(lang, deps, f"tinirun-bench-old-{lang}:1"))
                    docker("rmi", tag, check=False)
                    started = time.perf_counter()
                    svc.run(body)
                    new.append((time.perf_counter() - started) * 1000)
                cached = timed(lambda b=body: svc.run(b), args.n, f"{lang} cached",  # type: ignore[misc]
                               warmup=0)
                docker("rmi", tag, check=False)
                row = {"old_build_ms": [round(x) for x in old],
                       "first_run_ms": [round(x) for x in new],
                       "cached_run": cached.as_dict(),
                       "first_over_old": round(statistics.median(new) / statistics.median(old),
                                               2)}
                report["languages"][lang] = row
                print(f"{lang:10} old build median {statistics.median(old):7.0f} ms  "
                      f"first run median {statistics.median(new):7.0f} ms  "
                      f"cached median {cached.median:6.0f} ms")
        finally:
            svc.close()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "installs.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = ["# Install-time cost of confined installs through the egress proxy", "",
             f"One run, {report['when']}, load average {report['load']:.1f}. Old build: the "
             "dependency image as main built it before (docker build, default bridge, no "
             "limits). First run: a service's run that installs (build container through the "
             "proxy, committed) and then runs. Cached: the same run again.", "",
             "| language | old build (median ms) | first run (median ms) | first/old | "
             "cached run (median ms) |", "|---|---|---|---|---|"]
    for lang, row in report["languages"].items():
        lines.append(f"| {lang} | {statistics.median(row['old_build_ms']):.0f} | "
                     f"{statistics.median(row['first_run_ms']):.0f} | {row['first_over_old']} | "
                     f"{row['cached_run']['median_ms']:.0f} |")
    (RESULTS / "installs.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
