"""The Python client as its own distribution: installed alone into a fresh venv (httpx its one
dependency), it runs code on the service and loads no module of the server, nor pydantic."""

from __future__ import annotations

import json
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from tests.integration.server import API_KEY, Server

pytestmark = pytest.mark.slow

PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "python"

USE = """if True:
    import json, sys
    from importlib.metadata import requires
    from tinirun_client import Client
    with Client(sys.argv[1], sys.argv[2]) as client:
        result = client.run_code("print(6 * 7)", lang="python")
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tinirun", "pydantic"))
    print(json.dumps({"stdout": result.stdout, "loaded": loaded,
                      "requires": requires("tinirun-client")}))
"""


def test_installed_alone_it_runs_code(server: Server, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # A copy, not editable, and run outside the repository: nothing of the service is importable.
    source = shutil.copytree(PACKAGE, tmp_path / "tinirun-client",
                             ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(source)],
                             capture_output=True, text=True, timeout=280, cwd=tmp_path)
    assert install.returncode == 0, install.stderr[-3000:]
    done = subprocess.run([str(python), "-c", USE, server.url, API_KEY], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout)
    assert seen["stdout"] == "42\n"
    assert seen["loaded"] == []
    assert [r.split(">")[0].split("=")[0].strip() for r in seen["requires"]] == ["httpx"]
