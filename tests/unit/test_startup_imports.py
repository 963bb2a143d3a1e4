"""A service on the embedded store does not import Redis or the cluster: Python compiles and
runs every module it imports at each start-up, and Redis's client is the largest of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECK = """
import asyncio, sys
from pathlib import Path
import tinirun.api.server, tinirun.cli
from tinirun.api.app import create_app
from tinirun.config import Config
from tinirun.store import open_store
create_app(Config.from_env({'RUNNER_API_KEY': 'k'}))
asyncio.run(open_store(None, Path(sys.argv[1])))
print(sorted(m for m in sys.modules if m.split('.')[0] == 'redis' or m == 'tinirun.cluster'
             or m.startswith('tinirun.cluster.') or m == 'tinirun.store.redis'))
"""


def test_embedded_store_start_imports_no_redis(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", CHECK, str(tmp_path)], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_redis_url_opens_the_redis_store(tmp_path: Path) -> None:
    code = CHECK.replace("open_store(None,", "open_store('redis://127.0.0.1:1/0',")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, check=True)
    assert "tinirun.store.redis" in out.stdout
