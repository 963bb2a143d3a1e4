"""The `tinirun` command as a client of a real service, run as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

import certifi
import pytest

from tests.conftest import free_port
from tests.integration.server import API_KEY, Server


def environment(server: Server | None, env: dict[str, str] | None = None) -> dict[str, str]:
    """The command's environment: ours without TINIRUN_ and RUNNER_ settings, then the
    service's URL and key, then `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TINIRUN_", "RUNNER_"))}
    if server is not None:
        base.update(TINIRUN_URL=server.url, TINIRUN_API_KEY=API_KEY)
    base.update(env or {})
    return base


def tinirun(server: Server | None, *args: str, stdin: str | None = None,
            env: dict[str, str] | None = None, timeout: float = 180
            ) -> subprocess.CompletedProcess[str]:
    """Run the command with the service's URL and key in the environment."""
    return subprocess.run([sys.executable, "-m", "tinirun.cli", *args], input=stdin or "",
                          capture_output=True, text=True, env=environment(server, env),
                          timeout=timeout)


def on_a_terminal(server: Server, *args: str, terminal: Literal["stdout", "stderr"],
                  env: dict[str, str] | None = None, timeout: float = 120
                  ) -> tuple[int, bytes, bytes]:
    """Run the command with its `terminal` stream ("stdout" or "stderr") on a pseudo-terminal
    and the other in a file: its exit code, what the terminal got, what the file got."""
    import pty
    import select
    import tempfile

    controller, device = pty.openpty()
    with tempfile.TemporaryFile() as other:
        stdout, stderr = (device, other) if terminal == "stdout" else (other, device)
        process = subprocess.Popen([sys.executable, "-m", "tinirun.cli", *args],
                                   stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                   env=environment(server, env))
        os.close(device)
        seen = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                block = os.read(controller, 4096)
            except OSError:  # the terminal closed: the command ended
                break
            if not block:
                break
            seen += block
        os.close(controller)
        try:
            code = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        other.seek(0)
        return code, seen, other.read()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_run_separates_stdout_and_stderr_and_exits_with_the_program(
        server: Server, tmp_path: Path) -> None:
    source = write(tmp_path, "prog.py", "import sys\nprint('to out')\nprint('to err', "
                   "file=sys.stderr)\nsys.exit(7)\n")
    done = tinirun(server, "run", source)
    assert (done.returncode, done.stdout, done.stderr) == (7, "to out\n", "to err\n")


def test_run_language_from_extension_or_flag(server: Server, tmp_path: Path) -> None:
    assert tinirun(server, "run", write(tmp_path, "a.js", "console.log(1 + 1)")).stdout == "2\n"
    assert tinirun(server, "run", write(tmp_path, "a.ts", "const n: number = 3; console.log(n)")
                   ).stdout == "3\n"
    flagged = tinirun(server, "run", write(tmp_path, "script", "echo $((2 * 4))"), "--lang", "bash")
    assert flagged.stdout == "8\n"
    unknown = tinirun(server, "run", write(tmp_path, "a.cob", "x"))
    assert unknown.returncode == 2 and "--lang" in unknown.stderr


def test_run_code_from_stdin(server: Server) -> None:
    done = tinirun(server, "run", "-", "--lang", "python", stdin="print(6 * 7)\n")
    assert (done.returncode, done.stdout) == (0, "42\n")
    missing = tinirun(server, "run", "-", stdin="print(1)")
    assert missing.returncode == 2 and "--lang" in missing.stderr


def test_run_with_program_stdin_files_and_dependency(server: Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "one.txt").write_text("1")
    (data / "sub").mkdir()
    (data / "sub" / "two.txt").write_text("2")
    single = write(tmp_path, "single.csv", "a,b\n")
    source = write(tmp_path, "read.py", (
        "import sys, six\n"
        "print(open('files/data/one.txt').read(), open('files/data/sub/two.txt').read(),\n"
        "      open('files/in.csv').read().strip(), sys.stdin.read().strip(), six.__version__)\n"))
    done = tinirun(server, "run", source, "--file", str(data), "--file", f"{single}:in.csv",
                   "--dep", "six==1.16.0", "--stdin", "-", "--timeout", "60", "--mem", "128",
                   "--cpu", "1", stdin="from stdin\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1 2 a,b from stdin 1.16.0\n"
    # Not a terminal: no progress on stderr.
    assert done.stderr == ""


def test_run_timeout_has_its_own_exit_code(server: Server, tmp_path: Path) -> None:
    done = tinirun(server, "run", write(tmp_path, "slow.sh", "echo start\nsleep 30\n"),
                   "--timeout", "5")
    assert done.returncode == 124
    assert done.stdout == "start\n"
    assert "timed out after 5 s" in done.stderr


def test_run_errors_have_documented_exit_codes(server: Server, tmp_path: Path) -> None:
    source = write(tmp_path, "x.py", "print(1)\n")
    refused = tinirun(server, "run", source, "--dep", "bad dep")
    assert refused.returncode == 2 and "bad dep" in refused.stderr
    invalid = tinirun(server, "run", source, "--timeout", "1")
    assert invalid.returncode == 2 and "timeout" in invalid.stderr
    build = tinirun(server, "run", source, "--dep", "no-such-package-tinirun-cli")
    assert build.returncode == 125
    assert "no matching distribution found for no-such-package-tinirun-cli" in build.stderr.lower()
    wrong_key = tinirun(server, "run", source, env={"TINIRUN_API_KEY": "wrong"})
    assert wrong_key.returncode == 125 and "TINIRUN_API_KEY" in wrong_key.stderr
    nowhere = tinirun(None, "run", source, "--url", f"http://127.0.0.1:{free_port()}",
                      "--api-key", API_KEY)
    assert nowhere.returncode == 125 and "cannot connect" in nowhere.stderr
    no_file = tinirun(server, "run", str(tmp_path / "missing.py"))
    assert no_file.returncode == 2 and "cannot read" in no_file.stderr
    usage = tinirun(server, "run")
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_url_and_key_flags_override_the_environment(server: Server, tmp_path: Path) -> None:
    source = write(tmp_path, "x.sh", "echo flags")
    done = tinirun(None, "run", source, "--url", server.url, "--api-key", API_KEY,
                   env={"TINIRUN_URL": "http://127.0.0.1:9", "TINIRUN_API_KEY": "wrong"})
    assert (done.returncode, done.stdout) == (0, "flags\n")


def test_verbose_shows_progress_even_off_a_terminal(server: Server, tmp_path: Path) -> None:
    done = tinirun(server, "run", write(tmp_path, "x.sh", "echo hi"), "-v")
    assert done.stdout == "hi\n"
    assert "Starting container" in done.stderr


def test_fn_commands(server: Server, tmp_path: Path) -> None:
    source = write(tmp_path, "shout.py",
                   "def run(input: str) -> str:\n    return input.upper() + '!'\n")
    created = tinirun(server, "fn", "create", "cli-shout", source)
    assert created.returncode == 0, created.stderr
    assert "cli-shout" in created.stdout and "ready" in created.stdout
    again = tinirun(server, "fn", "create", "cli-shout", source)
    assert again.returncode == 2 and "already exists" in again.stderr

    listed = tinirun(server, "fn", "list")
    assert listed.returncode == 0
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["NAME", "LANG", "STATUS", "VERSION", "UPDATED"]
    assert any(row.split()[:4] == ["cli-shout", "python", "ready", "1"] for row in rows)
    as_json = json.loads(tinirun(server, "fn", "list", "--json").stdout)
    assert "cli-shout" in [item["name"] for item in as_json]

    run = tinirun(server, "fn", "run", "cli-shout", "hello")
    assert (run.returncode, run.stdout) == (0, "HELLO!")
    piped = tinirun(server, "fn", "run", "cli-shout", "-", stdin="piped")
    assert piped.stdout == "PIPED!"

    shown = tinirun(server, "fn", "show", "cli-shout")
    assert "python" in shown.stdout and "input.upper()" in shown.stdout
    assert tinirun(server, "fn", "show", "cli-shout", "--code").stdout == Path(source).read_text()

    updated = tinirun(server, "fn", "update", "cli-shout", "-", "--dep", "six==1.16.0",
                      "--description", "Shouts with six",
                      stdin="import six\n\ndef run(input: str) -> str:\n    return six.__version__\n")
    assert updated.returncode == 0, updated.stderr
    detail = json.loads(tinirun(server, "fn", "show", "cli-shout", "--json").stdout)
    assert (detail["version"], detail["dependencies"]) == ("2", "six==1.16.0")
    # Code alone: the dependencies and description are kept.
    kept = tinirun(server, "fn", "update", "cli-shout", "-",
                   stdin="import six\n\ndef run(input: str) -> str:\n    return 'v' + six.__version__\n")
    assert kept.returncode == 0, kept.stderr
    assert tinirun(server, "fn", "run", "cli-shout").stdout == "v1.16.0"
    detail = json.loads(tinirun(server, "fn", "show", "cli-shout", "--json").stdout)
    assert (detail["description"], detail["dependencies"]) == ("Shouts with six", "six==1.16.0")

    failing = tinirun(server, "fn", "update", "cli-shout", "-",
                      stdin="def run(input: str) -> str:\n    raise ValueError('nope')\n")
    assert failing.returncode == 0
    raised = tinirun(server, "fn", "run", "cli-shout", "x")
    assert raised.returncode != 0 and "nope" in raised.stderr

    deleted = tinirun(server, "fn", "delete", "cli-shout")
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    gone = tinirun(server, "fn", "run", "cli-shout", "x")
    assert gone.returncode == 2 and "no function of that name" in gone.stderr


def test_fn_create_from_sample_and_broken_build(server: Server, tmp_path: Path) -> None:
    sample = tinirun(server, "fn", "create", "cli-sample", "--lang", "bash")
    assert sample.returncode == 0, sample.stderr
    assert tinirun(server, "fn", "run", "cli-sample", "abc").returncode == 0
    broken = tinirun(server, "fn", "update", "cli-sample", write(tmp_path, "run.sh", "echo x"),
                     "--dep", "no-such-package-tinirun-cli")
    assert broken.returncode == 125
    assert "Unable to locate package no-such-package-tinirun-cli" in broken.stderr
    assert tinirun(server, "fn", "delete", "cli-sample").returncode == 0
    no_lang = tinirun(server, "fn", "create", "cli-nolang")
    assert no_lang.returncode == 2 and "--lang" in no_lang.stderr


def test_doctor_reports_each_problem_with_what_to_do(server: Server, tmp_path: Path) -> None:
    healthy = tinirun(server, "doctor", env={
        "RUNNER_API_KEY": "x", "RUNNER_DATA_DIR": str(tmp_path / "data"),
        "RUNNER_EXTRA_CA_BUNDLE": certifi.where()})
    assert healthy.returncode == 0, healthy.stdout
    for name in ("settings", "engine", "images", "store", "CA bundle", "service"):
        assert any(line.startswith("✓") and name in line for line in healthy.stdout.splitlines()
                   ), (name, healthy.stdout)

    not_pem = write(tmp_path, "not.pem", "hello")
    sick = tinirun(server, "doctor", env={
        "RUNNER_REDIS_URL": f"redis://127.0.0.1:{free_port()}", "RUNNER_EXTRA_CA_BUNDLE": not_pem,
        "TINIRUN_API_KEY": "wrong"})
    assert sick.returncode == 1
    lines = sick.stdout.splitlines()

    def problem(name: str) -> str:
        at = next(i for i, line in enumerate(lines) if name in line and line.startswith("✗"))
        return lines[at] + "\n" + lines[at + 1]

    assert "unset RUNNER_REDIS_URL" in problem("store")
    assert "no PEM certificate" in problem("CA bundle")
    assert "TINIRUN_API_KEY" in problem("service")
    assert "RUNNER_API_KEY is not set" in sick.stdout

    no_engine = tinirun(None, "doctor", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock",
                                             "TINIRUN_URL": f"http://127.0.0.1:{free_port()}"})
    assert no_engine.returncode == 1
    assert "DOCKER_HOST" in no_engine.stdout and "none answers" in no_engine.stdout


def test_images_list_shows_this_installations_tagged_images(server: Server, tmp_path: Path
                                                             ) -> None:
    assert tinirun(server, "fn", "create", "cli-images", "--lang", "bash").returncode == 0
    try:
        mine = tinirun(None, "images", "list", env={"RUNNER_DATA_DIR": str(server.data_dir)})
        assert mine.returncode == 0, mine.stderr
        lines = mine.stdout.splitlines()
        assert lines[0].split() == ["IMAGE", "KIND", "OF", "SIZE", "CREATED"]
        assert any("tinirun-runtime-python" in line and "runtime" in line for line in lines)
        assert any("cli-images" in line and "function" in line for line in lines), (
            mine.stdout, mine.stderr, (server.data_dir / "installation-id").read_text())
        assert not any("<untagged>" in line for line in lines)
        # Another data directory is another installation: its functions are not ours.
        other = tinirun(None, "images", "list", env={"RUNNER_DATA_DIR": str(tmp_path)})
        assert not any("cli-images" in line for line in other.stdout.splitlines())
        assert "--all" in other.stderr
        everything = tinirun(None, "images", "list", "--all",
                             env={"RUNNER_DATA_DIR": str(tmp_path)})
        assert any("cli-images" in line for line in everything.stdout.splitlines())
        assert len(everything.stdout.splitlines()) > len(other.stdout.splitlines())
    finally:
        tinirun(server, "fn", "delete", "cli-images")


def test_doctor_checks_the_service_apart_from_this_machine(server: Server) -> None:
    done = tinirun(server, "doctor")
    service, machine = done.stdout.split("\n\n", 1)
    assert service.startswith(f"The service at {server.url}/api")
    assert "accepts the API key" in service and "engine and its store answer" in service
    assert machine.startswith("This machine") and "engine" in machine
    # Not the key of the service it talks to: no word about RUNNER_API_KEY as a problem.
    assert not any(line.startswith("!") for line in done.stdout.splitlines()), done.stdout
    elsewhere = tinirun(None, "doctor", env={"TINIRUN_URL": "http://tinirun-doctor.invalid:9"})
    assert elsewhere.returncode == 1
    assert "none answers at http://tinirun-doctor.invalid:9/api" in elsewhere.stdout
    assert "not checked: the service runs elsewhere" in elsewhere.stdout
    assert "settings" not in elsewhere.stdout and "engine" not in elsewhere.stdout


def test_fn_run_ends_its_output_with_a_newline_on_a_terminal(server: Server, tmp_path: Path
                                                             ) -> None:
    source = write(tmp_path, "echo.py", "def run(input: str) -> str:\n    return input\n")
    assert tinirun(server, "fn", "create", "cli-newline", source).returncode == 0
    try:
        # Piped, the output is exactly what the function returned.
        assert tinirun(server, "fn", "run", "cli-newline", "no newline").stdout == "no newline"
        code, seen, _ = on_a_terminal(server, "fn", "run", "cli-newline", "no newline", "-q",
                                      terminal="stdout")
        assert code == 0
        assert seen.replace(b"\r\n", b"\n") == b"no newline\n"
    finally:
        tinirun(server, "fn", "delete", "cli-newline")


@pytest.mark.parametrize("command", [[], ["run"], ["fn"], ["fn", "create"], ["fn", "run"],
                                     ["fn", "update"], ["fn", "list"], ["fn", "show"],
                                     ["fn", "delete"], ["doctor"], ["languages"], ["serve"], ["images"],
                                     ["images", "build"], ["images", "list"]])
def test_help_everywhere_with_examples(command: list[str]) -> None:
    done = tinirun(None, *command, "--help")
    assert done.returncode == 0
    assert "usage: tinirun" in done.stdout and "examples:" in done.stdout, done.stdout


def test_progress_only_on_a_terminal(server: Server, tmp_path: Path) -> None:
    """With stderr on a terminal: transient progress lines there, stdout untouched."""
    source = write(tmp_path, "tty.py", "print('plain output')\n")
    code, seen, out = on_a_terminal(server, "run", source, terminal="stderr",
                                    env={"NO_COLOR": "1"})
    assert (code, out) == (0, b"plain output\n")
    assert b"Starting container..." in seen
    # Transient: each progress line is erased again, so nothing is left behind.
    assert seen.endswith(b"\r\x1b[2K"), seen[-80:]


def test_run_passes_arguments_and_writes_output_files(server: Server, tmp_path: Path) -> None:
    source = write(tmp_path, "args.py", (
        "import os, sys\nprint(sys.argv[1:])\nos.makedirs('out/sub', exist_ok=True)\n"
        "open('out/sub/data.bin', 'wb').write(bytes(range(256)))\n"
        "open('out/note.txt', 'w').write(' '.join(sys.argv[1:]))\n"))
    results = tmp_path / "results"
    done = tinirun(server, "run", source, "--out", str(results), "--", "a b", "-x", "ünï 'q'")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['a b', '-x', \"ünï 'q'\"]\n"
    assert (results / "sub" / "data.bin").read_bytes() == bytes(range(256))
    assert (results / "note.txt").read_text() == "a b -x ünï 'q'"
    assert "wrote 2 output files" in done.stderr


def test_languages_lists_the_services_runtimes(server: Server) -> None:
    done = tinirun(server, "languages")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["NAME", "VERSION", "FILE", "COMPILED", "DEPENDENCIES"]
    by_name = {row.split()[0]: row for row in rows}
    assert {"bash", "go", "javascript", "python", "rust", "typescript"} <= set(by_name)
    assert "Python 3." in by_name["python"] and "pip" in by_name["python"]
    assert json.loads(tinirun(server, "languages", "--json").stdout)[0]["name"]
