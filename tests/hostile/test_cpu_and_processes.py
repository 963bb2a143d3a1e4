"""CPU burn and programs that try to outlive their run: the CPU quota holds, and every
process is stopped at the latest at the timeout."""

from __future__ import annotations

from tests.hostile.harness import Hostile, bash, python

CPU_BURN = (
    "for i in $(seq 16); do ( while :; do :; done ) & done\n"
    "cd /sys/fs/cgroup/cpuacct\n"
    "u0=$(cat cpuacct.usage); t0=$(date +%s%N)\n"
    "sleep 4\n"
    "u1=$(cat cpuacct.usage); t1=$(date +%s%N)\n"
    "echo cores_used=$(( (u1 - u0) * 1000 / (t1 - t0) ))\n"
    "sleep 10\n"
)


def test_cpu_burn_in_many_threads_stays_in_its_quota(hostile: Hostile) -> None:
    """16 busy loops under a 0.5 CPU quota use half a core (measured by the container's own
    cpuacct over 4 s), so the probes beside it keep their latency."""
    result = hostile.survive(bash(CPU_BURN, cpu_limit=0.5, timeout=8), name="CPU burn").result
    used = int(result["stdout"].split("cores_used=")[1].split()[0]) / 1000
    assert 0.3 < used <= 0.55, result["stdout"]
    assert result["timeout"] is True


def test_background_children_end_with_the_program(hostile: Hostile) -> None:
    """The program exits while children live on (one detached with setsid, one holding the
    output open): the container's init ends with it and takes them along."""
    code = (
        "sleep 300 &\n"
        "setsid sleep 300 > /dev/null 2>&1 < /dev/null &\n"
        "( trap '' TERM HUP; while :; do sleep 1; echo child; done ) &\n"
        "echo parent done\n"
        "exit 3\n"
    )
    # The program ends at once, so a probe need not overlap it; the checks after it still hold.
    outcome = hostile.survive(bash(code, timeout=30), name="background children", min_probes=0)
    result = outcome.result
    assert result["exit_code"] == 3
    assert result["timeout"] is False
    assert result["stdout"].startswith("parent done\n")


def test_closed_output_and_sleep_is_stopped_at_the_timeout(hostile: Hostile) -> None:
    code = "echo before\nexec >&- 2>&- <&-\nsleep 300\n"
    result = hostile.survive(bash(code), name="closes stdout and sleeps").result
    assert result["stdout"] == "before\n"
    assert result["timeout"] is True
    assert result["exit_code"] is None


def test_processes_ignoring_sigterm_are_stopped_at_the_timeout(hostile: Hostile) -> None:
    code = (
        "import os, signal, time\n"
        "for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):\n"
        "    signal.signal(sig, signal.SIG_IGN)\n"
        "for _ in range(5):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        while True:\n"
        "            time.sleep(1)\n"
        "print('ignoring', flush=True)\n"
        "while True:\n"
        "    time.sleep(1)\n"
    )
    result = hostile.survive(python(code), name="ignores SIGTERM").result
    assert result["stdout"] == "ignoring\n"
    assert result["timeout"] is True
    assert result["exit_code"] is None


# Four goroutines spin while the program measures its own CPU use (cgroup v1's cpuacct, else
# v2's cpu.stat) over 4 s of wall time.
GO_BURN = """package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func usage() int64 {
	if b, err := os.ReadFile("/sys/fs/cgroup/cpuacct/cpuacct.usage"); err == nil {
		n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return n
	}
	b, _ := os.ReadFile("/sys/fs/cgroup/cpu.stat")
	for _, line := range strings.Split(string(b), "\\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "usage_usec" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n * 1000
		}
	}
	return 0
}

func main() {
	for i := 0; i < 4; i++ {
		go func() {
			for {
			}
		}()
	}
	u0, t0 := usage(), time.Now()
	time.Sleep(4 * time.Second)
	u1, t1 := usage(), time.Now()
	fmt.Printf("cores_used=%d\\n", (u1-u0)*1000/t1.Sub(t0).Nanoseconds())
	time.Sleep(10 * time.Second)
}
"""


def test_a_compiled_program_burning_cpu_stays_in_the_runs_quota(hostile: Hostile) -> None:
    """Go compiles under the compile step's larger quota (RUNNER_COMPILE_CPUS); the program
    it made, four goroutines spinning, gets only its run's 0.5."""
    body = {"code": GO_BURN, "lang": "go", "timeout": 8, "cpu_limit": 0.5}
    result = hostile.survive(body, name="go CPU burn").result
    used = int(result["stdout"].split("cores_used=")[1].split()[0]) / 1000
    assert 0.3 < used <= 0.55, result["stdout"]
    assert result["timeout"] is True


def test_a_compile_that_never_ends_is_stopped_at_the_timeout(hostile: Hostile) -> None:
    """Rust evaluating a constant for ever: rustc (pre-started, under the compile quota) is
    stopped at the run's timeout like any program, and the program never runs."""
    code = ("#![allow(long_running_const_eval)]\n\n"
            "const N: u64 = {\n    let mut i = 0u64;\n    while i < u64::MAX { i += 1; }\n"
            "    i\n};\n\nfn main() {\n    println!(\"{}\", N);\n}\n")
    body = {"code": code, "lang": "rust", "timeout": 5}
    result = hostile.survive(body, name="endless const eval").result
    assert result["timeout"] is True and result["stdout"] == "", result
