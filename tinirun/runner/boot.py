"""What a run's container does: its boot command, the payload it is fed, and the trailer it
ends with.

Every container that runs user code is started before its code is known (the warm pool), with
one of two boot commands:

- the shell boot: unpack the payload from stdin, run its script under `timeout`;
- a launcher boot (languages whose folder has `[launcher]`): the interpreter is started at
  once with a small launcher that waits for the payload on fd 3, unpacks it and runs the
  program in that same, never-used process. The start-up moves off the run's critical path.
  A language that compiles (or type-checks) first can have one when its launcher says
  `compiles = true`: after unpacking, the launcher runs the payload's `.tinirun/prepare.sh`
  (the type check, and a compile command that needs a shell), then the compile command from
  `.tinirun/compile` (its argv, when it is one plain command: no shell started for it), the
  same steps the shell boot's script runs; if one fails, it exits with that status before the
  program is loaded. Its `compile_prelude` can pre-start the compiler too (typescript: esbuild's
  service, which the launcher then stops, and waits for, before the program loads).

Both end the same way: when the program has exited, the boot shell kills what the program left
running, then writes the trailer: an end marker on stdout, and on stderr the end marker, the
exit code and a tar of the output files. The service has the result as soon as the trailer
is read, without waiting for the engine to tear the container down.
"""

from __future__ import annotations

import io
import re
import secrets
import shlex
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tinirun.languages import Language

SCRIPT = ".tinirun/run.sh"
STDIN_FILE = ".tinirun/stdin"
TIMEOUT_FILE = ".tinirun/timeout"
ARGS_FILE = ".tinirun/args"
PREPARE_FILE = ".tinirun/prepare.sh"
COMPILE_FILE = ".tinirun/compile"
NONCE_FILE = ".tinirun/nonce"
OUTPUTS_FILE = ".tinirun/outputs"
# Where a payload for a pre-started compiler has the snippet (its own file is then a fifo).
SOURCE_FILE = ".tinirun/source"
# The fifo on which a pre-started compiler's exit status comes (LINKING before it, from a
# compile that says when its last step starts).
COMPILED_FIFO = "/tmp/.tinirun-compiled"
LINKING = "linking"
# The in-container timeout is a second line of defence (it holds even if the service dies);
# the service kills the container at the deadline itself.
INNER_TIMEOUT_SLACK = 2
# The end marker is this prefix and the run's nonce (so a program printing the boot command,
# e.g. from /proc, does not end its own output).
MARK_PREFIX = b"\x00\x1etinirun-end:"
# The handoff marker: a compile step that ran under a larger CPU quota than its run's (see
# `run_script`) is done, and the script waits on stdin until the run's own quota is set.
COMPILED_PREFIX = b"\x00\x1etinirun-compiled:"
# What makes a command more than one plain command (its words need a shell).
_SHELL_SYNTAX = re.compile(r"[|&;<>()$`\\*?\[\]{}~#!\n]")
# Bytes of the output-file tar the boot shell sends at most (the service's cap applies on top).
OUTPUT_TAR_CAP = 64 * 1024 * 1024
# The fifo through which a launcher tells the boot shell's watchdog the time limit.
GO_FIFO = "/tmp/.tinirun-go"


def marker(nonce: str) -> bytes:
    return MARK_PREFIX + nonce.encode() + b"\x1e"


def compiled_marker(nonce: str) -> bytes:
    return COMPILED_PREFIX + nonce.encode() + b"\x1e"


@dataclass(frozen=True)
class Payload:
    """What one run is fed on stdin (a tar) and the nonce of its trailer."""

    data: bytes
    nonce: str


def run_script(language: Language, args: Sequence[str] = (), command: str | None = None,
               typecheck: bool = False, handoff: bool = False, prestarted: bool = False) -> str:
    """The shell script that type-checks (when asked and the language can), compiles (if the
    language does) and runs the snippet (or `command`), with `args` after it (no shell sees
    them: each is quoted) and standard input from `.tinirun/stdin` (empty when the request has
    none).

    With `handoff` (the shell boot only: its stdin is free once the payload is unpacked), the
    compile step runs under a larger CPU quota than the program's: when it has succeeded, the
    script writes the compiled marker on stderr and waits for a line on stdin, which the
    service sends once it has set the run's own quota; without that line (stdin closed) the
    program never starts.

    With `prestarted` (the container was booted with `prestart_boot`), the compile step is the
    compiler already waiting on the snippet's fifo: the script writes the snippet (from
    SOURCE_FILE) into it, takes the compiler's exit status, and puts the snippet's file in
    place for the program. A pre-started compile may say LINKING on COMPILED_FIFO before its
    last step (rust's linker does, as it starts): with `handoff`, the marker is written then,
    so that the service sets the run's quota while the link runs (the new quota starts a
    fresh period, which the link's few milliseconds do not exhaust); the program still waits
    for the line, and a link that fails waits for it too before the script exits, so that
    the service's update never meets a container that has gone."""
    lines = ["#!/bin/sh"]
    hand = handoff and bool(language.compile)
    if command is None:
        if prestarted:
            lines.extend(_prestarted_lines(language, typecheck, hand))
        else:
            lines.extend(prepare_lines(language, typecheck))
            if hand:
                lines.extend(_HAND_OFF)
        if hand:
            lines.append("read -r _ || exit 125")
    quoted = "".join(" " + shlex.quote(a) for a in args)
    lines.append(f"exec {command or language.run}{quoted} < {STDIN_FILE}")
    return "\n".join(lines) + "\n"


def _prestarted_lines(language: Language, typecheck: bool, handoff: bool) -> list[str]:
    """`prepare_lines` with the pre-started compiler in place of the compile command; with
    `handoff`, the marker written (at LINKING, or once the compile has succeeded; `h` says
    it was written at LINKING)."""
    source = shlex.quote(language.source)
    lines = [
        *prepare_lines(language, typecheck, compile=False),
        # In the background: a compiler that ended before it opened the fifo still gives its
        # status (the trailer then kills this writer).
        f"cat {SOURCE_FILE} > {source} &",
    ]
    if handoff:
        lines.append("h=")
    lines += [
        # Read and write, so that the fifo has a writer between the compile's two lines.
        f"exec 5<> {COMPILED_FIFO} || exit 125",
        "read -r s <&5 || exit 125",
        f'if [ "$s" = {LINKING} ]; then',
    ]
    if handoff:
        lines += [f"  {line}" for line in _HAND_OFF] + ["  h=1"]
    lines += [
        "  read -r s <&5 || exit 125",
        "fi",
        "exec 5<&-",
        f"mv -f {SOURCE_FILE} {source} || exit 125",
    ]
    if not handoff:
        return [*lines, '[ "$s" = 0 ] || exit "$s"']
    return [
        *lines,
        # A failed link after the marker still takes the service's line (its update is on
        # its way), then ends with the compile's status.
        '[ "$s" = 0 ] || { [ -z "$h" ] || read -r _; exit "$s"; }',
        '[ -n "$h" ] || {', *(f"  {line}" for line in _HAND_OFF), "}",
    ]


def _octal(data: bytes) -> str:
    """`data` for printf's format: control bytes as octal escapes."""
    return "".join(chr(b) if 32 <= b < 127 and chr(b) not in "\\%'" else f"\\{b:03o}"
                   for b in data)


# The handoff marker, written on stderr (the script then waits for the service's line).
_HAND_OFF = [f"read -r n < {NONCE_FILE} || exit 125",
             f"printf '{_octal(COMPILED_PREFIX)}%s\\036' \"$n\" >&2"]


def prepare_lines(language: Language, typecheck: bool = False,
                  compile: bool = True) -> list[str]:
    """The shell lines that type-check (when asked and the language can) and compile the
    snippet (unless not `compile`: the compile command runs otherwise), each ending the script
    with its status when it fails; none for a language that neither compiles nor is asked to
    type-check."""
    lines: list[str] = []
    if typecheck and language.spec.typecheck:
        lines.append(f"( {language.spec.typecheck} ) || exit $?")
    if language.compile and compile:
        lines.append(f"( {language.compile} ) || exit $?")
    return lines


def compile_argv(language: Language) -> list[str] | None:
    """The language's compile command as argv when it is one plain command (words, quotes,
    no shell syntax, no variable assignment), which a launcher runs without a shell; None
    when the language does not compile or its command needs a shell."""
    if not language.compile or _SHELL_SYNTAX.search(language.compile):
        return None
    argv = shlex.split(language.compile)
    return argv if argv and "=" not in argv[0] else None


def prepare_script(language: Language, typecheck: bool = False) -> str:
    """`.tinirun/prepare.sh` of a one-off run, which a launcher that compiles runs before the
    program: the compile lines of `run_script`, less the compile command when `compile_argv`
    gives it to the launcher as argv; empty when there are none."""
    lines = prepare_lines(language, typecheck, compile=compile_argv(language) is None)
    return "\n".join(["#!/bin/sh", *lines]) + "\n" if lines else ""


def pack(entries: Mapping[str, bytes], script: str, timeout: int, stdin: str | None,
         args: Sequence[str] = (), output_roots: Sequence[str] = (),
         prepare: str = "", compile: Sequence[str] = ()) -> Payload:
    """A tar of `entries` plus the run script, its time limit, standard input, arguments, the
    roots under which output files are collected, the trailer's nonce, and the compile steps
    for launchers (`prepare`, a script, and `compile`, an argv; each when not empty)."""
    nonce = secrets.token_hex(8)
    files = dict(entries)
    files[SCRIPT] = script.encode()
    if prepare:
        files[PREPARE_FILE] = prepare.encode()
    if compile:
        files[COMPILE_FILE] = b"".join(a.encode() + b"\0" for a in compile)
    files[TIMEOUT_FILE] = f"{timeout + INNER_TIMEOUT_SLACK}\n".encode()
    files[STDIN_FILE] = (stdin or "").encode()
    # For launchers (the shell boot has them in its script): NUL-terminated.
    files[ARGS_FILE] = b"".join(a.encode() + b"\0" for a in args)
    files[NONCE_FILE] = nonce.encode() + b"\n"
    files[OUTPUTS_FILE] = "".join(f"{root}\n" for root in output_roots).encode()
    buffer = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        dirs: set[str] = set()
        for name, data in files.items():
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                directory = "/".join(parts[:i])
                if directory not in dirs:
                    dirs.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    info.mtime = now
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = now
            tar.addfile(info, io.BytesIO(data))
    return Payload(buffer.getvalue(), nonce)


# The end of every boot command, run by the boot shell once the program ($c: its exit status)
# has ended: kill what it left (kill -9 -1: every process of the run's user but this shell),
# then the trailer. Output files: regular files only (find does not follow symbolic links)
# under the roots the payload names; the service matches them against the request's globs.
# $k: the OOM killer's kills in the run's memory cgroup, as the kernel counts them (empty where
# the cgroup does not say, as before Linux 4.13): the engine's OOMKilled flag now and then comes
# too late.
_TRAILER = f"""
kill -9 -1 2>/dev/null
read -r n < {NONCE_FILE} 2>/dev/null || n=
o=/tmp/.tinirun-out
s=0
if [ -s {OUTPUTS_FILE} ]; then
  while IFS= read -r r; do
    if [ -e "$r" ]; then find "$r" -type f -print0; fi
  done < {OUTPUTS_FILE} > $o.list 2>/dev/null
  if [ -s $o.list ]; then
    tar --null --no-recursion -T $o.list -c -f - 2>/dev/null | head -c {OUTPUT_TAR_CAP} > $o
    s=$(wc -c < $o)
  fi
fi
k=
for f in /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events; do
  if [ -r $f ]; then
    while read -r a b; do if [ "$a" = oom_kill ]; then k=$b; fi; done < $f
    break
  fi
done
printf '{_octal(MARK_PREFIX)}%s\\036' "$n"
printf '{_octal(MARK_PREFIX)}%s\\036%s %s %s\\n' "$n" "$c" "$s" "$k" >&2
if [ "$s" -gt 0 ]; then cat $o >&2; fi
exit $c
"""

# The shell boot: unpack the payload from stdin, then run its script under `timeout -k` with
# the limit the payload carries.
SHELL_BOOT = [
    "/bin/sh", "-c",
    f'tar -x -f - || exit 125\nread -r t < {TIMEOUT_FILE}\n'
    f'timeout -k 2 "$t" /bin/sh {SCRIPT}\nc=$?\n' + _TRAILER,
]
# Kept for callers of the older name.
BOOT_COMMAND = SHELL_BOOT


def prestart_boot(language: Language) -> list[str] | None:
    """The shell boot of a language with `prestart` (one-off runs without dependencies), which
    first starts that compile command with the snippet's file a fifo: the compiler loads and
    sets itself up while the container waits for its run, then blocks reading the fifo (see
    `run_script`, `prestarted`). Its messages name the snippet's file as ever. None when the
    language has no `prestart`."""
    command = language.spec.prestart
    if not command:
        return None
    head = (f"mkfifo {shlex.quote(language.source)} {COMPILED_FIFO} || exit 125\n"
            f"{{ {command}\necho $? > {COMPILED_FIFO}; }} < /dev/null &\n")
    return ["/bin/sh", "-c", head + SHELL_BOOT[2]]

# A launcher boot: `sh -c SCRIPT sh PROGRAM RUN...`. The interpreter (RUN, after the language's
# prelude has put PROGRAM where the interpreter loads it first) reads the payload on fd 3 and
# has its standard input on .tinirun/stdin, which the payload fills in place. A watchdog waits
# for the time limit the launcher writes to a fifo (the launcher unlinks it once both ends are
# open), then ends the interpreter (the inner timeout, as `timeout -k 2` does for the shell
# boot).
_LAUNCH_HEAD = f"""l=$1; shift
exec 4<&0
mkdir -p .tinirun && : > {STDIN_FILE} && mkfifo {GO_FIFO} || exit 125
"""
_LAUNCH_TAIL = f"""
"$@" 3<&4 4<&- < {STDIN_FILE} &
p=$!
exec 4<&- </dev/null
{{ exec < {GO_FIFO}; read -r t || exit 0
  sleep "$t"; kill -TERM $p; sleep 2; kill -KILL $p; }} >/dev/null 2>&1 &
wait $p
c=$?
""" + _TRAILER


def launcher_boot(language: Language, command: str) -> list[str] | None:
    """The boot command that pre-starts `command` (the language's run command, or its
    function wrapper's) with the language's launcher; None when the language has none, or
    compiles (or type-checks) first and its launcher does not run the compile step."""
    launcher = language.launcher
    if launcher is None:
        return None
    prepares = bool(language.compile or language.spec.typecheck)
    if command == language.run and prepares and not launcher.compiles:
        return None
    prelude = launcher.prelude.rstrip("\n") + "\n"
    if command == language.run and language.compile and launcher.compile_prelude:
        prelude += launcher.compile_prelude.rstrip("\n") + "\n"
    script = _LAUNCH_HEAD + prelude + _LAUNCH_TAIL
    return ["/bin/sh", "-c", script, "sh", language.read(launcher.program),
            *shlex.split(command)]


def output_roots(globs: Sequence[str]) -> list[str]:
    """The directories (relative to the work dir) under which files matching `globs` can be:
    each glob's part before its first wildcard; "." when a glob starts with one."""
    roots: list[str] = []
    for glob in globs:
        parts = glob.split("/")
        fixed: list[str] = []
        for part in parts[:-1]:
            if any(c in part for c in "*?["):
                break
            fixed.append(part)
        else:
            if not any(c in parts[-1] for c in "*?["):
                fixed = parts  # a plain path: that file (or directory) itself
        root = "/".join(fixed) or "."
        if root not in roots:
            roots.append(root)
    return roots
