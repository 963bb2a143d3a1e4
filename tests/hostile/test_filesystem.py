"""Filling /tmp and writing to every writable place: each place is a size-capped tmpfs
(memory, charged to the run's own memory limit), so nothing a run writes reaches the host's
disk; the root filesystem and everything else refuse writes."""

from __future__ import annotations

import json

from tests.hostile.harness import Hostile, python

MIB = 1024 * 1024

WRITE_EVERYWHERE = r"""
import errno, json, os
mounts = {}
for line in open('/proc/self/mounts'):
    _, point, kind, options = line.split()[:4]
    mounts[point] = (kind, options.split(','))
# Every directory the program may create a file in, and what lies under /proc and /sys aside.
writable = set()
for top in ('/',):
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys')]
        if os.access(root, os.W_OK):
            writable.add(root)
candidates = sorted(writable | {'/', '/etc', '/usr', '/var', '/opt', '/root', '/home',
                                 '/run', '/var/tmp', '/tmp', '/work', '/dev/shm', '/dev/mqueue'})
block = b'\0' * (1 << 20)
report = {}
for place in candidates:
    written, failure, n = 0, None, 0
    while failure is None and written < 2048 * (1 << 20):
        path = os.path.join(place, f'.fill-{n}')
        n += 1
        try:
            with open(path, 'wb') as f:
                for _ in range(32):  # files of 32 MiB, below the file size limit
                    f.write(block)
                    written += len(block)
        except OSError as exc:
            failure = errno.errorcode.get(exc.errno, str(exc.errno))
    report[place] = {'bytes': written, 'error': failure}
# Files the engine bind-mounts from the host's disk: they must refuse writes too.
for name in ('/etc/hosts', '/etc/hostname', '/etc/resolv.conf'):
    try:
        with open(name, 'a') as f:
            f.write('x')
        report[name] = {'bytes': 1, 'error': None}
    except OSError as exc:
        report[name] = {'bytes': 0, 'error': errno.errorcode.get(exc.errno, str(exc.errno))}
# The mount each writable place lies on.
def mount_of(path):
    path = os.path.realpath(path)
    while path not in mounts:
        path = os.path.dirname(path)
    return path
print(json.dumps({'report': report, 'mounts': {p: mount_of(p) for p in report},
                  'kinds': {p: mounts[mount_of(p)] for p in report}}))
"""


def test_filling_every_writable_place(hostile: Hostile) -> None:
    body = python(WRITE_EVERYWHERE, mem_limit_mb=1024, cpu_limit=1.0, timeout=60)
    result = hostile.survive(body, name="fill /tmp and every writable place").result
    assert result["exit_code"] == 0, result["stderr"][-2000:]
    data = json.loads(result["stdout"])
    report, kinds = data["report"], data["kinds"]
    wrote = {place: r["bytes"] for place, r in report.items() if r["bytes"] > 0}
    # Only tmpfs mounts take writes, each up to its size.
    for place in wrote:
        kind, options = kinds[place]
        assert kind == "tmpfs", (place, kind)
        assert "rw" in options
    assert set(wrote) == {"/tmp", "/work", "/dev/shm"}, wrote
    assert wrote["/tmp"] <= 100 * MIB and report["/tmp"]["error"] == "ENOSPC"
    assert wrote["/work"] <= 512 * MIB and report["/work"]["error"] == "ENOSPC"
    assert wrote["/dev/shm"] <= 1 * MIB
    # Everything else refuses: a read-only root, and directories the user does not own.
    for place in ("/", "/etc", "/usr", "/var", "/opt", "/root", "/run", "/var/tmp",
                  "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"):
        assert report[place]["bytes"] == 0
        assert report[place]["error"] in ("EROFS", "EACCES"), (place, report[place])
