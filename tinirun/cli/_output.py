"""What every command shares: exit codes, the terminal (colour, progress line), the client
from flags or the environment, and one way to report an error with what to do about it."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TextIO

from tinirun_client import (
    AuthenticationError,
    BusyError,
    Client,
    ClientError,
    ErrorKind,
    InvalidRequestError,
    NotFoundError,
    RunError,
    TransportError,
)

# Exit codes of the commands (the README's table). A run otherwise exits with its program's.
EXIT_OK = 0
EXIT_PROBLEMS = 1  # doctor found a problem
EXIT_USAGE = 2  # bad arguments, or a request the service refused as invalid or unknown
EXIT_TIMEOUT = 124  # the program hit its time limit (as timeout(1) exits)
EXIT_SERVICE = 125  # the service could not run it: unreachable, key, busy, engine, build
EXIT_INTERRUPTED = 130  # Ctrl-C: the run is stopped on the service
EXIT_BROKEN_PIPE = 141  # our output was closed (e.g. `| head`): the run is stopped too


class UsageError(Exception):
    """The command line asks for something impossible; the message says what to change."""


class Style:
    """ANSI styling for one stream, off when it is not a terminal or NO_COLOR is set."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.color = self.tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)


class Progress:
    """The service's progress (info and debug chunks) on stderr.

    On a terminal, one transient line that the next line replaces and output erases; with
    `verbose`, every line kept (on a terminal or not); with `quiet`, nothing. Once the
    program has written output, transient lines stop, so they never erase a partial line.
    """

    def __init__(self, verbose: bool = False, quiet: bool = False,
                 stream: TextIO | None = None) -> None:
        self.style = Style(stream or sys.stderr)
        self.stream = self.style.stream
        self.verbose = verbose and not quiet
        self.transient = self.style.tty and not quiet and not verbose
        self._shown = False
        self._stage = ""

    def info(self, text: str) -> None:
        self._stage = text.strip()
        self._line(text, keep=self.verbose)

    def debug(self, text: str) -> None:
        # Build logs are long: kept with --verbose, else a glimpse after the stage they are of.
        line = text.strip().splitlines()[-1] if text.strip() else ""
        self._line(text if self.verbose or not self._stage else f"{self._stage} │ {line}",
                   keep=self.verbose)

    def _line(self, text: str, keep: bool) -> None:
        text = text.rstrip()
        if not text:
            return
        if keep:
            self.clear()
            self.stream.write(self.style.dim(text) + "\n")
            self.stream.flush()
        elif self.transient:
            width = max(20, shutil.get_terminal_size().columns - 1)
            line = text.splitlines()[-1]
            line = line if len(line) <= width - 2 else line[: width - 3] + "…"
            self.stream.write("\r\x1b[2K" + self.style.dim("· " + line))
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        """Erase the transient line (before output is written)."""
        if self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._shown = False

    def output_started(self) -> None:
        self.clear()
        self.transient = False


def add_connection(parser: argparse.ArgumentParser) -> None:
    """--url and --api-key, defaulting to the environment."""
    group = parser.add_argument_group("service")
    group.add_argument("--url", metavar="URL",
                       help="the service (default: $TINIRUN_URL, else http://127.0.0.1:8082)")
    group.add_argument("--api-key", metavar="KEY",
                       help="its API key (default: $TINIRUN_API_KEY, else $RUNNER_API_KEY)")


def add_verbosity(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress on stderr, even on a terminal")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="every progress and build log line on stderr, terminal or not")


def client_of(args: argparse.Namespace) -> Client:
    return Client(args.url, args.api_key)


def error(message: str, hint: str | None = None) -> None:
    """`tinirun: message` on stderr, and what to do about it when there is something."""
    style = Style(sys.stderr)
    print(f"{style.red('tinirun:')} {message}", file=sys.stderr)
    if hint:
        print(f"  {style.dim(hint)}", file=sys.stderr)


def report(exc: ClientError, url: str) -> int:
    """Say what went wrong and what to do; return the exit code for it."""
    if isinstance(exc, TransportError):
        error(str(exc), "is the service running? Start it with `RUNNER_API_KEY=... tinirun serve`,"
                        " or point --url / TINIRUN_URL at it")
        return EXIT_SERVICE
    if isinstance(exc, AuthenticationError):
        error(f"the service at {url} refused the API key",
              "set --api-key or TINIRUN_API_KEY to the service's RUNNER_API_KEY")
        return EXIT_SERVICE
    if isinstance(exc, BusyError):
        wait = f"in {exc.retry_after} s" if exc.retry_after is not None else "later"
        error(f"the service is busy ({exc.message})", f"try again {wait}")
        return EXIT_SERVICE
    if isinstance(exc, NotFoundError):
        error(f"{exc.message}: no function of that name", "see `tinirun fn list`")
        return EXIT_USAGE
    if isinstance(exc, InvalidRequestError):
        error(exc.message)
        return EXIT_USAGE
    if isinstance(exc, RunError):
        error(exc.message)
        if exc.kind == ErrorKind.BUILD_FAILED and exc.logs:
            tail = exc.logs.rstrip().splitlines()[-30:]
            print("\n".join("  " + line for line in tail), file=sys.stderr)
        elif exc.kind == ErrorKind.FUNCTION_IMAGE_NOT_FOUND:
            print("  rebuild it: tinirun fn update NAME FILE", file=sys.stderr)
        return EXIT_SERVICE
    error(str(exc))
    return EXIT_SERVICE


def read_source(path: str) -> str:
    """A file's text, or standard input's for `-`; UsageError when it cannot be read."""
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as source:
            return source.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]], style: Style,
                paint: Mapping[int, Callable[[str], str]] | None = None) -> None:
    """The header (dim) and the rows on stdout, in columns two spaces apart. `paint` colours
    the cells of a column (by index) from their text; widths count the text alone."""
    widths = [max(len(row[c]) for row in (header, *rows)) for c in range(len(header))]

    def line(row: Sequence[str], colours: Mapping[int, Callable[[str], str]]) -> str:
        cells = (colours.get(c, str)(cell) + " " * (width - len(cell))
                 for c, (cell, width) in enumerate(zip(row, widths, strict=True)))
        return "  ".join(cells).rstrip()

    print(style.dim(line(header, {})))
    for row in rows:
        print(line(row, paint or {}))


def examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)
