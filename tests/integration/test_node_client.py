"""The TypeScript/Node client's own tests (`npm test` in clients/node, Node's test runner),
against the session's service; they include the check that the committed types match the
service's OpenAPI document."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.integration.server import API_KEY, Server

PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "node"


def test_node_client(server: Server) -> None:
    npm = shutil.which("npm")
    assert npm, "npm is not installed: the Node client cannot be tested (install nodejs and npm)"
    assert (PACKAGE / "node_modules" / ".bin" / "tsc").exists(), (
        "clients/node has no node_modules: run `npm ci` there (scripts/test does)")
    env = {**os.environ, "TINIRUN_URL": server.url, "TINIRUN_API_KEY": API_KEY}
    done = subprocess.run([npm, "test"], cwd=PACKAGE, env=env, capture_output=True, text=True,
                          timeout=280)
    assert done.returncode == 0, f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    assert "# fail 0" in done.stdout and "# pass 0" not in done.stdout, done.stdout[-2000:]


USE_JS = """
import { TinirunClient, NotFoundError } from "@tinirun/client";
const client = new TinirunClient({ url: process.env.TINIRUN_URL, apiKey: process.env.TINIRUN_API_KEY });
const result = await client.runCode({ lang: "python", code: "print(6 * 7)" });
let missing = false;
try { await client.getFunction("no-such-function"); } catch (e) { missing = e instanceof NotFoundError; }
console.log(JSON.stringify({ stdout: result.stdout, exit: result.exit_code, missing }));
"""

USE_TS = """
import { TinirunClient, type RunResult } from "@tinirun/client";
const client = new TinirunClient();
const result: Promise<RunResult> = client.runCode({ lang: "python", code: "print(1)" });
// @ts-expect-error: a run needs its code
client.runCode({ lang: "python" });
void result;
"""


def test_node_package_installs_alone_in_a_fresh_project(server: Server, tmp_path: Path) -> None:
    """`npm pack`, then a new npm project outside the repository installs the tarball and
    uses it: JavaScript against the live service, and TypeScript checks against its types."""
    npm = shutil.which("npm")
    assert npm, "npm is not installed"
    packed = subprocess.run([npm, "pack", "--pack-destination", str(tmp_path)], cwd=PACKAGE,
                            capture_output=True, text=True, timeout=280)
    assert packed.returncode == 0, packed.stderr[-3000:]
    tarball = tmp_path / packed.stdout.strip().splitlines()[-1]
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text(json.dumps(
        {"name": "uses-tinirun", "private": True, "type": "module"}))
    installed = subprocess.run([npm, "install", "--no-audit", "--no-fund", str(tarball)],
                               cwd=project, capture_output=True, text=True, timeout=280)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert not (project / "node_modules" / "@tinirun" / "client" / "src").exists()
    (project / "use.mjs").write_text(USE_JS)
    env = {**os.environ, "TINIRUN_URL": server.url, "TINIRUN_API_KEY": API_KEY}
    used = subprocess.run(["node", "use.mjs"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=120)
    assert used.returncode == 0, used.stderr[-3000:]
    assert json.loads(used.stdout) == {"stdout": "42\n", "exit": 0, "missing": True}
    # Its type declarations resolve through `exports` under Node's own module resolution.
    (project / "use.ts").write_text(USE_TS)
    (project / "tsconfig.json").write_text(json.dumps({"compilerOptions": {
        "module": "NodeNext", "moduleResolution": "NodeNext", "target": "ES2022", "strict": True,
        "lib": ["ES2022", "DOM"], "noEmit": True, "types": []}, "files": ["use.ts"]}))
    tsc = PACKAGE / "node_modules" / ".bin" / "tsc"
    checked = subprocess.run([str(tsc), "-p", "tsconfig.json"], cwd=project, capture_output=True,
                             text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout[-3000:]
