"""POST /api/code/run on a real engine: every language, both stream formats, limits,
isolation, dependencies, files and hang-up."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from typing import Any

import httpx
import pytest

from tests.integration.conftest import container_exists, container_of_run, wait_gone
from tests.integration.server import Server, iter_chunks, result_of

HELLO = {
    "bash": 'echo "hello from bash"',
    "go": 'package main\nimport "fmt"\nfunc main() { fmt.Println("hello from go") }\n',
    "javascript": 'console.log("hello from javascript")',
    "python": 'print("hello from python")',
    "rust": 'fn main() { println!("hello from rust"); }\n',
    "typescript": 'const who: string = "typescript";\nconsole.log(`hello from ${who}`);',
}


@pytest.mark.parametrize("lang", sorted(HELLO))
def test_hello_world_in_every_language(server: Server, lang: str) -> None:
    chunks = server.run({"code": HELLO[lang], "lang": lang})
    result = result_of(chunks)
    assert result["exit_code"] == 0, result
    assert result["stdout"] == f"hello from {lang}\n"
    assert result["timeout"] is False
    stdout = "".join(c["data"] for c in chunks if c["event"] == "stdout")
    assert stdout == f"hello from {lang}\n"
    assert [c["event"] for c in chunks].count("result") == 1


def test_lang_is_required(server: Server) -> None:
    # As the original: no default language (a body saying "language" never runs as another).
    with server.client() as client:
        response = client.post("/api/code/run", json={"code": "console.log(1)"})
    assert response.status_code == 400
    assert response.json() == {"message": "lang: Field required"}


def test_stdout_arrives_while_the_program_runs(server: Server) -> None:
    code = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(1)\n"
    arrivals: list[float] = []
    with server.client() as client, client.stream(
        "POST", "/api/code/run", json={"code": code, "lang": "python"}
    ) as response:
        for chunk in iter_chunks(response):
            if chunk["event"] == "stdout":
                # A line may come in more than one chunk: time each line's end.
                arrivals += [time.monotonic()] * chunk["data"].count("\n")
    assert len(arrivals) == 3
    # One line a second: the chunks must not arrive together at the end.
    assert arrivals[1] - arrivals[0] > 0.6
    assert arrivals[2] - arrivals[1] > 0.6


def test_sse_on_request(server: Server) -> None:
    with server.client() as client:
        response = client.post(
            "/api/code/run", json={"code": "echo sse", "lang": "bash"},
            headers={"Accept": "text/event-stream"},
        )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[len("data: "):]) for line in response.text.split("\n\n") if line]
    assert all(line.startswith("data: ") for line in response.text.split("\n\n") if line)
    assert events[-1]["event"] == "result"
    assert events[-1]["data"]["stdout"] == "sse\n"


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [("application/json", "application/jsonl"), ("application/jsonl", "application/jsonl"),
     ("application/json-lines", "application/json-lines"),
     ("application/x-ndjson", "application/x-ndjson")],
)
def test_ndjson_when_asked_under_the_type_asked(server: Server, accept: str,
                                                 media_type: str) -> None:
    with server.client() as client:
        response = client.post("/api/code/run", json={"code": "echo nd", "lang": "bash"},
                               headers={"Accept": accept})
    assert response.headers["content-type"] == media_type
    chunks = [json.loads(line) for line in response.text.splitlines()]
    assert result_of(chunks)["stdout"] == "nd\n"


def sse_events(text: str) -> list[dict[str, Any]]:
    assert all(line.startswith("data: ") for line in text.split("\n\n") if line), text[:200]
    return [json.loads(line[len("data: "):]) for line in text.split("\n\n") if line]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json, text/plain, */*"])
def test_sse_by_default_as_the_originals_code(server: Server, accept: str | None) -> None:
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as client:
        if accept is None:
            del client.headers["accept"]  # no Accept header at all
        else:
            client.headers["accept"] = accept
        response = client.post("/api/code/run", json={"code": "echo x", "lang": "bash"})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert sse_events(response.text)[-1]["data"]["stdout"] == "x\n"


def test_default_stream_setting_gives_ndjson(make) -> None:  # type: ignore[no-untyped-def]
    srv = make(RUNNER_DEFAULT_STREAM="ndjson")
    srv.start()
    with srv.client() as client:
        response = client.post("/api/code/run", json={"code": "echo x", "lang": "bash"},
                               headers={"Accept": "*/*"})
    assert response.headers["content-type"] == "application/jsonl"
    assert result_of([json.loads(line) for line in response.text.splitlines()])["stdout"] == "x\n"


def test_nonzero_exit_and_stderr(server: Server) -> None:
    chunks = server.run({"code": "import sys\nprint('oops', file=sys.stderr)\nsys.exit(3)",
                         "lang": "python"})
    result = result_of(chunks)
    assert result["exit_code"] == 3
    assert result["stderr"] == "oops\n"
    assert any(c["event"] == "stderr" for c in chunks)


def test_compile_error_is_stderr(server: Server) -> None:
    result = result_of(server.run({"code": "fn main() { let x: i32 = \"no\"; }", "lang": "rust"}))
    assert result["exit_code"] != 0
    assert "mismatched types" in result["stderr"]


def test_files_appear_under_files(server: Server) -> None:
    files = [
        {"path": "data.txt", "content": base64.b64encode(b"alpha").decode()},
        {"path": "dir/nested.bin", "content": base64.b64encode(b"\x00\x01beta").decode()},
    ]
    code = ("print(open('files/data.txt').read())\n"
            "print(open('files/dir/nested.bin','rb').read()[2:].decode())")
    result = result_of(server.run({"code": code, "lang": "python", "files": files}))
    assert result["stdout"] == "alpha\nbeta\n", result


def test_stdin_extension(server: Server) -> None:
    result = result_of(server.run({"code": "read x; echo got:$x", "lang": "bash",
                                   "stdin": "abc\n"}))
    assert result["stdout"] == "got:abc\n"


def test_timeout_ends_promptly(server: Server) -> None:
    started = time.monotonic()
    result = result_of(server.run({"code": "while True:\n    pass", "lang": "python",
                                   "timeout": 5}))
    elapsed = time.monotonic() - started
    assert result["timeout"] is True
    assert result["exit_code"] is None
    assert elapsed < 15


def test_program_ignoring_sigterm_is_stopped(server: Server) -> None:
    code = "trap '' TERM; while true; do sleep 1; done"
    result = result_of(server.run({"code": code, "lang": "bash", "timeout": 5}))
    assert result["timeout"] is True


def test_memory_limit(server: Server) -> None:
    code = "x = bytearray(200 * 1024 * 1024)\nprint('survived')"
    result = result_of(server.run({"code": code, "lang": "python", "mem_limit_mb": 64}))
    assert result["exit_code"] != 0
    assert "survived" not in result["stdout"]
    assert result["oom_killed"] is True



def test_a_child_killed_for_memory_is_told_by_the_kernels_count(server: Server) -> None:
    """The shell survives the OOM kill of its pipeline's tail and sends the trailer, with the
    kernel's count of OOM kills in the run's cgroup: the verdict does not wait on the engine's
    own flag, which now and then is set too late. Three runs, each must say so."""
    code = "echo before\nhead -c 20000000 /dev/zero | tail\n"
    for _ in range(3):
        result = result_of(server.run({"code": code, "lang": "bash", "mem_limit_mb": 16}))
        assert result["stdout"] == "before\n", result
        assert (result["exit_code"], result["oom_killed"]) == (137, True), result
    # A program killed by SIGKILL of its own is not out of memory.
    result = result_of(server.run({"code": "kill -KILL $$", "lang": "bash"}))
    assert (result["exit_code"], result["oom_killed"]) == (137, False), result


def test_no_network(server: Server) -> None:
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 53), timeout=3)\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('blocked', type(e).__name__)\n"
        "print([n for _, n in socket.if_nameindex()])\n"
    )
    result = result_of(server.run({"code": code, "lang": "python"}))
    assert result["stdout"].startswith("blocked")
    assert "eth0" not in result["stdout"]


def test_read_only_root_and_writable_tmp(server: Server) -> None:
    code = (
        "touch /etc/x 2>/dev/null && echo root-writable || echo root-ro\n"
        "echo ok > /tmp/f && cat /tmp/f\n"
        "cp /bin/true /tmp/t && (/tmp/t && echo tmp-exec || echo tmp-noexec)\n"
        "id -u\n"
        "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status\n"
    )
    result = result_of(server.run({"code": code, "lang": "bash"}))
    out = result["stdout"]
    assert "root-ro" in out
    assert "ok\n" in out
    assert "tmp-noexec" in out
    assert "\n1000\n" in out
    assert "CapEff:\t0000000000000000" in out
    assert "NoNewPrivs:\t1" in out


def test_cpu_limit_is_applied(server: Server) -> None:
    code = "cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us"
    result = result_of(server.run({"code": code, "lang": "bash", "cpu_limit": 0.25}))
    assert result["stdout"].split()[0] == "25000"


def test_python_dependency_installs_and_is_cached(server: Server) -> None:
    body = {"code": "import six; print(six.__version__)", "lang": "python",
            "dependencies": ["six==1.16.0"]}
    first = server.run(body)
    assert result_of(first)["stdout"] == "1.16.0\n", first[-3:]
    second = server.run(body)
    assert result_of(second)["stdout"] == "1.16.0\n"
    infos = [c["data"] for c in second if c["event"] == "info"]
    assert "Using cached dependency image" in infos
    assert not any(i.startswith("Installing dependencies") for i in infos)


def test_javascript_dependency_installs(server: Server) -> None:
    code = "import isNumber from 'is-number';\nconsole.log(isNumber(5), isNumber('x'));"
    chunks = server.run({"code": code, "lang": "javascript", "dependencies": ["is-number@7.0.0"]})
    assert result_of(chunks)["stdout"] == "true false\n", chunks[-3:]


def test_go_dependency_gives_a_clear_build_error_when_unreachable(server: Server) -> None:
    chunks = server.run({"code": "package main\nfunc main() {}", "lang": "go",
                         "dependencies": ["github.com/google/uuid@v1.6.0"]})
    last = chunks[-1]
    # Where the module proxy is reachable this succeeds; here it must fail clearly.
    if last["event"] == "error":
        assert last["data"]["error"] == "build_failed"
        assert last["data"]["logs"]
    else:
        assert last["data"]["exit_code"] == 0


def test_hang_up_removes_the_container(server: Server) -> None:
    code = "import time\nprint('started', flush=True)\ntime.sleep(120)"
    seen: list[dict[str, Any]] = []
    with server.client() as client, client.stream(
        "POST", "/api/code/run", json={"code": code, "lang": "python", "timeout": 120}
    ) as response:
        chunks = iter_chunks(response)  # kept: dropping it would close the response
        for chunk in chunks:
            seen.append(chunk)
            if chunk["event"] == "stdout":
                break
        cid = container_of_run(seen)
        assert container_exists(cid), "the run's container should exist while it runs"
    assert wait_gone(cid, 10)


def test_no_container_left_after_runs(server: Server) -> None:
    chunks = server.run({"code": "echo done", "lang": "bash"})
    assert wait_gone(container_of_run(chunks), 10)


def test_a_finished_runs_container_is_removed_once_stopped(server: Server) -> None:
    """The removal of a run that has ended waits for the engine to report the stop, so the
    engine does not kill the container: removed at its trailer, most were still exiting,
    and a kill costs the engine a call to the OCI runtime and its events."""
    since = time.time()
    cids = []
    for lang in ("python", "bash", "python"):
        chunks = server.run({"code": HELLO[lang], "lang": lang})
        assert result_of(chunks)["exit_code"] == 0
        cids.append(container_of_run(chunks))
    for cid in cids:
        assert wait_gone(cid, 30)
    out = subprocess.run(
        ["docker", "events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
         "--filter", "type=container", "--format", "{{.Actor.ID}} {{.Action}}"],
        capture_output=True, text=True, check=True).stdout
    for cid in cids:
        actions = [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith(cid)]
        assert "destroy" in actions and "kill" not in actions, (cid, actions)


# A program that forges the boot shell's trailer (the nonce is in its work dir) and lives on.
FORGED_TRAILER = (
    "import sys, time\n"
    "mark = '\\x00\\x1etinirun-end:' + open('.tinirun/nonce').read().strip() + '\\x1e'\n"
    "sys.stdout.write(mark); sys.stdout.flush()\n"
    "sys.stderr.write(mark + '0 0\\n'); sys.stderr.flush()\n"
    "time.sleep(120)\n"
)


def test_a_program_that_outlives_its_forged_result_keeps_its_slot(make) -> None:  # type: ignore[no-untyped-def]
    """A forged trailer ends the run's stream, but the container lives on until its removal
    stops it (the removal waits a while for a stop first): the run's slot is held until then,
    so with one slot the next run's container starts only after it has died."""
    srv: Server = make(RUNNER_MAX_CONCURRENT_RUNS="1", RUNNER_POOL_SIZE="0")
    srv.start()
    since = time.time()
    forged = srv.run({"lang": "python", "code": FORGED_TRAILER, "timeout": 150})
    assert result_of(forged)["exit_code"] == 0
    nxt = srv.run({"lang": "bash", "code": "echo next"})
    assert result_of(nxt)["stdout"] == "next\n"
    first, second = container_of_run(forged), container_of_run(nxt)
    assert wait_gone(first, 60) and wait_gone(second, 60)
    out = subprocess.run(
        ["docker", "events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
         "--filter", "type=container", "--format", "{{.TimeNano}} {{.Actor.ID}} {{.Action}}"],
        capture_output=True, text=True, check=True).stdout
    events = [line.split(" ", 2) for line in out.splitlines()]
    died = [int(t) for t, cid, action in events if cid.startswith(first) and action == "die"]
    started = [int(t) for t, cid, action in events if cid.startswith(second) and action == "start"]
    assert died and started and died[0] < started[0], out


def test_engine_unreachable(make) -> None:  # type: ignore[no-untyped-def]
    srv = make(DOCKER_HOST="unix:///nonexistent/docker.sock")
    srv.start()
    chunks = srv.run({"code": "echo x", "lang": "bash"})
    assert chunks[-1]["event"] == "error"
    assert chunks[-1]["data"]["error"] == "docker"
    assert "Docker engine unreachable" in srv.log()
    assert "Traceback" not in srv.log()


def test_container_settings_on_the_engine(server: Server) -> None:
    """Inspect a live run's container: the isolation floor as the engine sees it."""
    code = "import time\nprint('up', flush=True)\ntime.sleep(30)"
    with server.client() as client, client.stream(
        "POST", "/api/code/run",
        json={"code": code, "lang": "python", "mem_limit_mb": 128, "timeout": 30},
    ) as response:
        seen = []
        chunks = iter_chunks(response)  # kept: dropping it would close the response
        for chunk in chunks:
            seen.append(chunk)
            if chunk["event"] == "stdout":
                break
        cid = container_of_run(seen)
        info = json.loads(subprocess.run(["docker", "inspect", cid], capture_output=True,
                                         check=True).stdout)[0]
    host = info["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["Memory"] == 128 * 1024 * 1024
    assert host["MemorySwap"] == host["Memory"]
    assert host["PidsLimit"] == 50
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["IpcMode"] == "private"
    assert host["CgroupnsMode"] == "private"
    assert "noexec" in host["Tmpfs"]["/tmp"]
    assert info["Config"]["User"] == "1000:1000"
    assert not any(u["Name"] == "nproc" for u in host["Ulimits"] or [])


@pytest.mark.parametrize("path", ["/api/openapi.json", "/api/docs"])
def test_docs_need_no_key(server: Server, path: str) -> None:
    assert httpx.get(server.url + path).status_code == 200


@pytest.mark.parametrize("key", [None, "wrong"])
def test_auth(server: Server, key: str | None) -> None:
    headers = {"X-Runner-Api-Key": key} if key else {}
    response = httpx.post(server.url + "/api/code/run", json={"code": "x"}, headers=headers)
    assert response.status_code == 401
    assert response.text == "Unauthorized"


def test_result_reports_time_and_peak_memory(server: Server) -> None:
    # The peak is sampled every 100 ms while the program runs: hold the memory a while.
    code = "import time\nx = bytearray(60 * 1024 * 1024)\nprint(len(x))\ntime.sleep(0.5)"
    result = result_of(server.run({"code": code, "lang": "python", "mem_limit_mb": 256}))
    assert result["stdout"] == f"{60 * 1024 * 1024}\n"
    assert result["duration_ms"] > 0
    # The engine runs on this host here, so the cgroup's peak is readable.
    assert result["memory_peak_bytes"] >= 60 * 1024 * 1024


def test_bash_dependency_is_a_debian_package(server: Server) -> None:
    chunks = server.run({"code": "echo '{\"a\": 41}' | jq '.a + 1'", "lang": "bash",
                         "dependencies": ["jq"]})
    assert result_of(chunks)["stdout"] == "42\n", chunks[-3:]


def test_javascript_runs_commonjs_and_es_modules(server: Server) -> None:
    cjs = "const path = require('path');\nconsole.log(path.basename('/a/b.txt'));"
    esm = "import path from 'path';\nawait Promise.resolve();\nconsole.log(path.extname('b.txt'));"
    assert result_of(server.run({"code": cjs, "lang": "javascript"}))["stdout"] == "b.txt\n"
    assert result_of(server.run({"code": esm, "lang": "javascript"}))["stdout"] == ".txt\n"
