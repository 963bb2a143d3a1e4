"""A client generated from our live OpenAPI document the way the original's Node client is
generated (openapi-typescript, pinned in tests/generated_client) must keep compiling: a small
program that uses it through openapi-fetch as the original's users do (every operation, a
base URL ending in /api, chunks narrowed by `event`, `CodeRunnerChunk` and `CodeRunnerInput`
read by name) is typechecked with tsc, then run against the session's service."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.integration.server import API_KEY, Server

PACKAGE = Path(__file__).resolve().parents[1] / "generated_client"
FUNCTION = "generated-client"


def _run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=240)


def test_generated_client_compiles_and_works(server: Server, tmp_path: Path) -> None:
    bin_dir = PACKAGE / "node_modules" / ".bin"
    assert shutil.which("node"), "node is not installed (install nodejs and npm)"
    assert (bin_dir / "openapi-typescript").exists(), (
        "tests/generated_client has no node_modules: run `npm ci` there (scripts/test does)")
    work = tmp_path / "client"
    work.mkdir()
    for name in ("program.ts", "tsconfig.json", "package.json"):
        shutil.copy(PACKAGE / name, work / name)
    (work / "node_modules").symlink_to(PACKAGE / "node_modules")

    generated = _run([str(bin_dir / "openapi-typescript"), f"{server.url}/api/openapi.json",
                      "-o", "types.d.ts"], work)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    types = (work / "types.d.ts").read_text()
    assert '"/code/run"' in types and "CodeRunnerChunk" in types

    compiled = _run([str(bin_dir / "tsc"), "-p", "tsconfig.json"], work)
    assert compiled.returncode == 0, f"the generated client no longer compiles:\n{compiled.stdout}"

    try:
        ran = _run(["node", "dist/program.js"], work, TINIRUN_URL=server.url,
                   TINIRUN_API_KEY=API_KEY, TINIRUN_FUNCTION=FUNCTION)
        assert ran.returncode == 0 and "session ok" in ran.stdout, ran.stdout + ran.stderr
    finally:
        with server.client() as client:
            client.delete(f"/api/function/{FUNCTION}")
