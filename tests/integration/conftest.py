"""Helpers of the integration suites: the containers a server or a run owns.

The fixtures (`engine_ready`, `server`, `make`) are in tests/conftest.py, shared by every suite."""

from __future__ import annotations

import re
import subprocess
import time
from typing import Any

from tests.integration.server import Server
from tests.wait import wait_until


def containers_of(server: Server) -> list[str]:
    """Ids of containers that the server's installation owns."""
    return containers_owned_by((server.data_dir / "installation-id").read_text().strip())


def containers_owned_by(owner: str) -> list[str]:
    """Ids of containers that installation `owner` owns."""
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=tinirun.owner={owner}"],
        capture_output=True, text=True, check=True,
    )
    return out.stdout.split()


def warm_containers(server: Server, lang: str) -> list[str]:
    """Ids of the server's running containers of `lang`'s runtime image (the warm pool's,
    when no run of that language is under way)."""
    owner = (server.data_dir / "installation-id").read_text().strip()
    out = subprocess.run(
        ["docker", "ps", "--filter", f"label=tinirun.owner={owner}",
         "--filter", "label=tinirun.kind=run", "--format", "{{.ID}} {{.Image}}"],
        capture_output=True, text=True, check=True,
    )
    return [line.split()[0] for line in out.stdout.splitlines()
            if line.split()[1].startswith(f"tinirun-runtime-{lang}:")]


def container_of_run(chunks: list[dict[str, Any]]) -> str:
    """The id of the container a run used, from its `debug` chunk."""
    for chunk in chunks:
        text = chunk.get("data")
        if chunk["event"] == "debug" and isinstance(text, str):
            match = re.search(r" container ([0-9a-f]{12})", text)
            if match:
                return match.group(1)
    raise AssertionError(f"no container named in {chunks[:6]}")


def container_exists(cid: str) -> bool:
    return subprocess.run(["docker", "inspect", cid], capture_output=True).returncode == 0


def wait_gone(cid: str, seconds: float) -> bool:
    """True once the container no longer exists (removal runs in the background)."""
    deadline = time.monotonic() + seconds
    while container_exists(cid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def wait_warm(server: Server, lang: str) -> list[str]:
    """Wait until a warm container of `lang` waits for the server's next run."""
    return wait_until(lambda: warm_containers(server, lang), f"a warm {lang} container")
