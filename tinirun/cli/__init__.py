"""The `tinirun` command: `serve` the API and build its `images` on this machine; `run`
code, manage functions (`fn`) and check the set-up (`doctor`) as a client of a service."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from tinirun import __version__
from tinirun.cli import _doctor, _functions, _languages, _mcp, _run, _service
from tinirun.cli._output import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    UsageError,
    error,
    examples,
)

EPILOG = examples(
    "RUNNER_API_KEY=secret tinirun serve           # the service, on 127.0.0.1:8082",
    "export TINIRUN_API_KEY=secret                 # then, as its client:",
    "tinirun run hello.py",
    "tinirun run script.ts --dep zod --timeout 30",
    "tinirun run prog.py -- first 'second arg'      # the program's arguments",
    "tinirun languages",
    "tinirun fn create greet greet.py && tinirun fn run greet world",
    "tinirun doctor",
    "tinirun mcp                                   # tools for an LLM agent, on stdio",
) + """

Client commands reach the service at --url or $TINIRUN_URL (default http://127.0.0.1:8082)
with --api-key or $TINIRUN_API_KEY. `tinirun COMMAND --help` shows each command's options."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinirun",
        description="Run code snippets in ephemeral, hardened Docker containers.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tinirun {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _run.add_parser(commands)
    _functions.add_parser(commands)
    _languages.add_parser(commands)
    _doctor.add_parser(commands)
    _mcp.add_parser(commands)
    _service.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    # `run FILE [options] -- ARG...`: what follows `--` is the program's, whatever it looks like
    # (argparse alone cannot take options between FILE and a `--` after them).
    program: list[str] = []
    if words[:1] == ["run"] and "--" in words:
        at = words.index("--")
        words, program = words[:at], words[at + 1:]
    args = parser.parse_args(words)
    if program:
        args.args = [*(args.args or []), *program]
    try:
        return int(args.handler(args))
    except UsageError as exc:
        error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        silence_stdout()
        return EXIT_BROKEN_PIPE


def silence_stdout() -> None:
    """Nothing reads our output any more (`| head`): stop Python complaining at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
