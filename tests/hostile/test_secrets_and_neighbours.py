"""A run cannot read the service's secrets (its API key, its CA bundle) nor the host's
environment, and two runs at once cannot see each other: each has its own processes, process
budget, files and /tmp."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from typing import Any

from tests.hostile.harness import Hostile, python
from tests.integration.server import result_of
from tinirun.languages import get_language
from tinirun.runner.images import CA_PATH

# A dependency list no other test uses, so its image is built here with this server's bundle.
SECRET_DEPS = ["pip", "six==1.16.0"]

SEARCH = r"""
import json, os, subprocess, time
needles = [n[::-1] for n in NEEDLES]  # reversed here, so this file does not hold them
out = {'env': dict(os.environ), 'pid1_env': open('/proc/1/environ').read().split('\0')}
out['ca_files'] = [p for p in (CA_PATH, '/etc/apt/apt.conf.d/99tinirun-ca') if os.path.exists(p)]
hits = {}
for needle in needles:
    p = subprocess.run(['grep', '-rlsF', '--exclude-dir=proc', '--exclude-dir=sys',
                        '--exclude-dir=dev', needle, '/'], capture_output=True, text=True)
    hits[needle] = p.stdout.split()
out['hits'] = hits
print(json.dumps(out))
time.sleep(1)
"""


def test_service_secrets_are_out_of_reach(hostile: Hostile, ca_marker: str) -> None:
    key = hostile.server.headers["X-Runner-Api-Key"]
    # The dependency image must be built by this server (with its CA bundle), not found.
    tag = hostile_dependency_tag(hostile)
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
    needles = json.dumps([key[::-1], ca_marker[::-1]])
    code = SEARCH.replace("NEEDLES", needles).replace("CA_PATH", repr(CA_PATH))
    outcome = hostile.survive(python(code, timeout=120, cpu_limit=1.0,
                                     dependencies=SECRET_DEPS), name="service secrets")
    assert any(i.startswith("Installing dependencies") for i in outcome.infos), outcome.infos
    result = outcome.result
    assert result["exit_code"] == 0, result["stderr"][-2000:]
    out = json.loads(result["stdout"])
    assert out["hits"] == {key: [], ca_marker: []}
    assert out["ca_files"] == []
    names = set(out["env"]) | {e.split("=", 1)[0] for e in out["pid1_env"] if e}
    assert not any(n.startswith(("RUNNER_", "DOCKER", "SSL_", "PIP_", "REQUESTS_", "CURL_",
                                 "NODE_EXTRA", "npm_config")) for n in names), names
    assert key not in json.dumps(out["env"]) + json.dumps(out["pid1_env"])
    assert out["env"]["HOME"] == "/tmp"


def hostile_dependency_tag(hostile: Hostile) -> str:
    """The tag the server gives the python image with SECRET_DEPS (as it computes it)."""
    from tinirun.runner.images import ImageManager

    class _NoEngine:
        pass

    images = ImageManager(_NoEngine())  # type: ignore[arg-type]
    return images.dependency_tag(get_language("python"), sorted(SECRET_DEPS))


NEIGHBOUR_A = r"""
import os, subprocess, time
open('/tmp/secret-of-a', 'w').write('a-was-here')
open('/work/secret-of-a', 'w').write('a-was-here')
children = []
try:
    while True:
        children.append(subprocess.Popen(['sleep', '60']))
except OSError:
    pass
print(f'a holds {len(children)} processes', flush=True)
time.sleep(6)
print('a still sees its files:', os.path.exists('/tmp/secret-of-a'), flush=True)
"""

NEIGHBOUR_B = r"""
import json, os, subprocess
out = {'tmp': sorted(os.listdir('/tmp')), 'work': sorted(os.listdir('/work'))}
out['found'] = subprocess.run(['find', '/', '-xdev', '-name', 'secret-of-a'],
                              capture_output=True, text=True).stdout.split()
out['grep'] = subprocess.run(['grep', '-rlsF', '--exclude-dir=proc', '--exclude-dir=sys',
                              'ereh-saw-a'[::-1], '/tmp', '/work', '/dev/shm'],
                             capture_output=True, text=True).stdout.split()
procs = [subprocess.Popen(['sleep', '5']) for _ in range(20)]
out['spawned'] = len(procs)
out['commands'] = sorted({open(f'/proc/{p}/cmdline').read().split('\0')[0]
                          for p in os.listdir('/proc') if p.isdigit()})
for p in procs:
    p.kill()
print(json.dumps(out))
"""


def test_concurrent_runs_cannot_see_each_other(hostile: Hostile) -> None:
    """Run A writes files and takes its whole process budget; run B, at the same time, sees
    none of A's files or processes and still starts 20 processes of its own."""
    b_outcome: dict[str, Any] = {}

    def start_b(chunk: dict[str, Any]) -> None:
        if chunk["event"] == "stdout" and chunk["data"].startswith("a holds"):
            thread = threading.Thread(
                target=lambda: b_outcome.update(result_of(hostile.server.run(
                    python(NEIGHBOUR_B, timeout=20)))), daemon=True)
            thread.start()
            b_outcome["thread"] = thread

    outcome = hostile.survive(python(NEIGHBOUR_A, timeout=20), name="neighbours",
                              on_chunk=start_b)
    result_a = outcome.result
    assert result_a["stdout"].startswith("a holds ")
    held = int(result_a["stdout"].split()[2])
    assert 40 <= held < 50, result_a["stdout"]
    assert "a still sees its files: True" in result_a["stdout"]
    deadline = time.monotonic() + 30
    while "stdout" not in b_outcome and time.monotonic() < deadline:
        time.sleep(0.1)
    assert b_outcome.get("exit_code") == 0, b_outcome
    out = json.loads(b_outcome["stdout"])
    assert "secret-of-a" not in out["tmp"] + out["work"]
    assert out["found"] == [] and out["grep"] == []
    assert out["spawned"] == 20
    assert "sleep" in out["commands"] and "python3" in out["commands"]
    assert len(out["commands"]) <= 5, out["commands"]
