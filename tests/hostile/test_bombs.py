"""Process, thread and memory bombs: each hits its cgroup limit, ends at the timeout or with
a result that says what happened, and leaves nothing behind."""

from __future__ import annotations

from tests.hostile.harness import Hostile, bash, python


def test_fork_bomb_in_bash(hostile: Hostile) -> None:
    outcome = hostile.survive(bash(":(){ :|:& };:\nsleep 10"), name="fork bomb (bash)")
    result = outcome.result
    # The pids limit makes fork fail ("Resource temporarily unavailable"); the run is stopped
    # at its timeout.
    assert result["timeout"] is True
    assert result["exit_code"] is None


def test_fork_bomb_in_python(hostile: Hostile) -> None:
    code = (
        "import os, time\n"
        "failures = 0\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        failures += 1\n"
        "        time.sleep(0.01)\n"
    )
    result = hostile.survive(python(code), name="fork bomb (python)").result
    assert result["timeout"] is True


def test_thread_bomb(hostile: Hostile) -> None:
    code = (
        "import threading, time\n"
        "made = 0\n"
        "try:\n"
        "    while True:\n"
        "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
        "        made += 1\n"
        "except RuntimeError as exc:\n"
        "    print('threads made before refusal:', made, exc, flush=True)\n"
        "time.sleep(60)\n"
    )
    result = hostile.survive(python(code), name="thread bomb").result
    # Threads count as tasks against the pids limit (50 per container).
    made = int(result["stdout"].split(":")[1].split()[0])
    assert 0 < made < 50, result["stdout"]
    assert "can't start new thread" in result["stdout"]
    assert result["timeout"] is True


def test_memory_bomb_is_oom_killed(hostile: Hostile) -> None:
    code = (
        "chunks = []\n"
        "while True:\n"
        "    chunks.append(bytearray(16 * 1024 * 1024))\n"
    )
    result = hostile.survive(python(code, mem_limit_mb=128, timeout=20),
                             name="memory bomb").result
    assert result["oom_killed"] is True
    assert result["exit_code"] == 137
    assert result["timeout"] is False


def test_memory_bomb_uses_no_swap(hostile: Hostile) -> None:
    """The bomb runs as a child; the parent then reads its cgroup's accounting: memory plus
    swap is limited to memory alone, so swap is never used."""
    code = (
        "import subprocess, time\n"
        "bomb = 'b = []\\nwhile True: b.append(bytearray(8 << 20))'\n"
        "print('child=%d' % -subprocess.run(['python3', '-c', bomb]).returncode)\n"
        "for f in ('limit_in_bytes', 'memsw.limit_in_bytes', 'max_usage_in_bytes',\n"
        "          'memsw.max_usage_in_bytes', 'swappiness'):\n"
        "    print(f + '=' + open('/sys/fs/cgroup/memory/memory.' + f).read().strip())\n"
        "for line in open('/sys/fs/cgroup/memory/memory.stat'):\n"
        "    if line.split()[0] in ('swap', 'total_swap'):\n"
        "        print(line.strip())\n"
        "time.sleep(2)\n"
    )
    outcome = hostile.survive(python(code, mem_limit_mb=96, timeout=20), name="memory bomb, swap")
    result = outcome.result
    values = dict(line.split("=", 1) for line in result["stdout"].splitlines() if "=" in line)
    assert values["child"] == "9", result  # SIGKILL from the OOM killer
    limit = int(values["limit_in_bytes"])
    assert limit == 96 * 1024 * 1024
    assert int(values["memsw.limit_in_bytes"]) == limit
    assert int(values["memsw.max_usage_in_bytes"]) <= limit
    assert values["swappiness"] == "0"
    swap = [line.split() for line in result["stdout"].splitlines() if "swap " in line]
    assert swap and all(int(n) == 0 for _, n in swap), result["stdout"]
