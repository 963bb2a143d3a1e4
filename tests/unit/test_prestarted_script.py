"""The run script of a pre-started compile (rust's), in a real shell, with a stand-in for the
compiler: it reads the snippet from its fifo and says `linking` and its status as rustc's
linker and the boot's pre-start do. With a handoff the marker comes at `linking` (or after
the compile when no line says so), the program never starts without the service's line, and
a compile that fails before its link leaves at once."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from tinirun.languages import get_language
from tinirun.runner import boot

RUST = get_language("rust")
MARK = boot.compiled_marker("n0")
# An event that does not come within this long has not come: a failure, not a measurement.
PATIENCE = 60


class Run:
    """The script started in `tmp` as the shell boot starts it, its stand-in compiler apart."""

    def __init__(self, tmp: Path, handoff: bool) -> None:
        self.fifo = tmp / "compiled"
        os.mkfifo(self.fifo)
        script = boot.run_script(RUST, prestarted=True, handoff=handoff)
        (tmp / ".tinirun").mkdir()
        (tmp / boot.SCRIPT).write_text(script.replace(boot.COMPILED_FIFO, str(self.fifo)))
        (tmp / boot.NONCE_FILE).write_text("n0\n")
        (tmp / boot.SOURCE_FILE).write_text("fn main() {}\n")
        (tmp / boot.STDIN_FILE).write_text("")
        os.mkfifo(tmp / RUST.source)
        program = tmp / ".main"
        program.write_text("#!/bin/sh\necho ran\n")
        program.chmod(0o755)
        self.proc = subprocess.Popen(["/bin/sh", boot.SCRIPT], cwd=tmp, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.stderr = b""
        self.marked = threading.Event()
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        # The compiler reads the snippet the script writes into its fifo.
        with open(tmp / RUST.source) as source:
            assert source.read() == "fn main() {}\n"

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        with self.proc.stderr:
            while chunk := os.read(self.proc.stderr.fileno(), 4096):
                self.stderr += chunk
                if MARK in self.stderr:
                    self.marked.set()

    def say(self, line: str) -> None:
        """One line on the status fifo, opened for it alone (as `echo ... > fifo` does)."""
        with open(self.fifo, "w") as fifo:
            fifo.write(line + "\n")

    def finish(self, go: bool) -> tuple[int, bytes]:
        """Send the service's line (or not), close stdin; the exit status and stdout."""
        assert self.proc.stdin is not None
        if go:
            self.proc.stdin.write(b"\n")
        self.proc.stdin.close()
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        self.proc.stdout.close()
        code = self.proc.wait(PATIENCE)
        self._reader.join(PATIENCE)
        return code, out


@pytest.mark.parametrize(("status", "outcome"), [("0", (0, b"ran\n")), ("1", (1, b""))])
def test_the_marker_comes_when_the_compile_starts_its_link(
        tmp_path: Path, status: str, outcome: tuple[int, bytes]) -> None:
    """After the marker, a link that succeeds runs the program once the service's line has
    come; one that fails ends with its status, the program not run."""
    run = Run(tmp_path, handoff=True)
    run.say(boot.LINKING)
    # Before the compile's status: the service sets the quota while the link runs.
    assert run.marked.wait(PATIENCE), run.stderr
    run.say(status)
    assert run.finish(go=True) == outcome
    assert run.stderr.count(MARK) == 1


def test_without_the_services_line_the_program_never_starts(tmp_path: Path) -> None:
    run = Run(tmp_path, handoff=True)
    run.say(boot.LINKING)
    run.say("0")
    assert run.finish(go=False) == (125, b"")
    assert MARK in run.stderr


@pytest.mark.parametrize("handoff", [True, False])
def test_a_compile_that_fails_before_its_link_ends_at_once(tmp_path: Path, handoff: bool) -> None:
    run = Run(tmp_path, handoff=handoff)
    run.say("1")
    code = run.proc.wait(PATIENCE)  # stdin still open: nothing waits for the service's line
    assert (code, run.finish(go=False)) == (1, (1, b""))
    assert MARK not in run.stderr


def test_a_compile_that_does_not_say_when_it_links_hands_off_after_it(tmp_path: Path) -> None:
    run = Run(tmp_path, handoff=True)
    run.say("0")
    assert run.marked.wait(PATIENCE), run.stderr
    assert run.finish(go=True) == (0, b"ran\n")


def test_without_a_handoff_the_line_is_passed_over(tmp_path: Path) -> None:
    run = Run(tmp_path, handoff=False)
    run.say(boot.LINKING)
    run.say("0")
    assert run.finish(go=False) == (0, b"ran\n")
    assert MARK not in run.stderr
