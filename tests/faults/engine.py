"""Restarting the Docker engine the way scripts/docker-up starts it: dockerd run directly (no
service manager). Used by the fault suite only; it stops every container on the engine."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
import time
from pathlib import Path


def dockerd_pid() -> int | None:
    """The pid of the running dockerd, if any."""
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "dockerd":
                return int(comm.parent.name)
        except OSError:
            continue
    return None


def engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def wait_until(check, limit: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def start_dockerd(argv: list[str]) -> None:
    """Start dockerd in the background as scripts/docker-up does, and wait for it."""
    handle, name = tempfile.mkstemp(prefix="dockerd-", suffix=".log")
    os.close(handle)
    log = Path(name)
    # In the background of a shell that exits at once, as scripts/docker-up does.
    command = " ".join(shlex.quote(arg) for arg in argv)
    subprocess.run(["sh", "-c", f"setsid nohup {command} > {shlex.quote(name)} 2>&1 < /dev/null &"],
                   check=True)
    if not wait_until(engine_answers, 90):
        raise RuntimeError(f"dockerd did not come back; its log:\n{log.read_text()[-3000:]}")


def stop_dockerd() -> list[str]:
    """SIGTERM dockerd and wait for it to exit; return its command line, to start it again."""
    pid = dockerd_pid()
    assert pid is not None, "no dockerd to restart (the engine runs some other way)"
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").decode().split("\0")
    os.kill(pid, signal.SIGTERM)
    if not wait_until(lambda: not Path(f"/proc/{pid}").exists(), 90):
        raise RuntimeError("dockerd did not stop within 90 s")
    return argv


def ensure_dockerd(argv: list[str]) -> None:
    """Whatever happened, leave an engine that answers."""
    if not engine_answers() and dockerd_pid() is None:
        start_dockerd(argv)
