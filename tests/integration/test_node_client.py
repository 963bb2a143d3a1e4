"""The TypeScript/Node client's own tests (`npm test` in clients/node, Node's test runner),
against the session's service; they include the check that the committed types match the
service's OpenAPI document."""

from __future__ import annotations

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
