"""The install proxy is on its network before it starts.

Squid reads /etc/resolv.conf once, as it starts. A container joined to a network while it runs
has that file rewritten in place; a squid that read it then found no name server (seen in a CI
run: every install failed with 503 until the proxy restarted)."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from tinirun.config import Config
from tinirun.engine.docker import Engine
from tinirun.service import make_images


def events(since: float, kind: str, name: str) -> list[dict[str, Any]]:
    """The engine's events since `since` about a container or network of that name."""
    out = subprocess.run(
        ["docker", "events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
         "--filter", f"{kind}={name}", "--format", "{{json .}}"],
        capture_output=True, text=True, check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def resolv_conf(name: str) -> str:
    return subprocess.run(["docker", "exec", name, "cat", "/etc/resolv.conf"],
                          capture_output=True, text=True, check=True).stdout


async def test_the_proxy_joins_its_network_before_it_starts(engine_ready: None,
                                                            tmp_path: Path) -> None:
    engine = Engine()
    # An allow-list of its own gives this proxy its own name and network; the image is the
    # service's, built the service's way when it is missing.
    config = Config.from_env({"RUNNER_API_KEY": "k", "RUNNER_DATA_DIR": str(tmp_path),
                              "RUNNER_INSTALL_ALLOW_HOSTS": f"test-{uuid.uuid4().hex[:8]}.example"})
    since = time.time() - 1
    proxy = await make_images(config, engine).proxy()
    try:
        assert (await proxy.url()).endswith(":3128")
        starts = [e for e in events(since, "container", proxy.name) if e["Action"] == "start"]
        joins = [e for e in events(since, "network", proxy.network) if e["Action"] == "connect"]
        assert starts and joins, (starts, joins)
        assert joins[0]["Actor"]["Attributes"]["container"] == starts[0]["Actor"]["ID"]
        assert int(joins[0]["timeNano"]) < int(starts[0]["timeNano"])
        assert "nameserver" in resolv_conf(proxy.name)
    finally:
        await proxy.remove()
        await engine.close()
