"""`tinirun run FILE`: a one-off run, streamed to the terminal; and the streaming of any run
(also `fn run`): stdout to stdout, stderr to stderr, progress to the terminal only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path, PurePosixPath

from tinirun_client import (
    ChunkStream,
    ClientError,
    DebugChunk,
    ErrorChunk,
    InfoChunk,
    ResultChunk,
    RunError,
    RunResult,
    StderrChunk,
    StdoutChunk,
)

from tinirun.cli._output import (
    EXIT_INTERRUPTED,
    EXIT_SERVICE,
    EXIT_TIMEOUT,
    Progress,
    UsageError,
    add_connection,
    add_verbosity,
    client_of,
    error,
    examples,
    read_source,
    report,
)
from tinirun.languages import all_languages, language_for_extension
from tinirun.models import DEFAULT_TIMEOUT

EPILOG = examples(
    "tinirun run hello.py",
    "tinirun run main.go --timeout 120 --mem 512",
    "tinirun run fetch.py --dep requests --dep rich",
    "tinirun run count.js --file data.csv            # the code reads ./files/data.csv",
    "tinirun run report.py --file ./in/2024.csv:input.csv",
    "echo 'echo $((6 * 7))' | tinirun run - --lang bash",
    "seq 3 | tinirun run sum.py --stdin -           # the program reads its standard input",
    "tinirun run greet.py -- --name 'Ada Lovelace'  # arguments after --, as its argv",
    "tinirun run plot.py --dep matplotlib --out results  # files it writes to ./out/",
) + """

The program's stdout and stderr stream to tinirun's as they come; progress (image builds,
queue place) shows on stderr only when it is a terminal (-v: always, -q: never).

exit status: the program's; 124 when it hit its time limit; 125 when the service could not
run it (unreachable, API key, busy, engine or dependency build error); 2 for usage errors
and requests the service refuses; 130 on Ctrl-C (the run is stopped)."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "run", help="run a file of code on the service and stream its output",
        description="Run FILE on the service in a fresh container; its language comes from "
                    "the file's extension or --lang.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="FILE", help="the code to run; - reads it from stdin")
    parser.add_argument("args", metavar="ARG", nargs="*",
                        help="arguments for the program (its argv, no shell); put them after "
                             "-- when one starts with -")
    parser.add_argument("-l", "--lang", choices=sorted(all_languages()),
                        help="its language (default: from the extension)")
    parser.add_argument("-d", "--dep", action="append", default=None, metavar="DEP",
                        help="a dependency to install first (repeat for more), e.g. requests "
                             "or lodash@4; installed once, then cached")
    parser.add_argument("-f", "--file", action="append", default=[], metavar="PATH[:DEST]",
                        help="a file (or folder) the code finds under ./files/ (as DEST, "
                             "default its name); repeat for more")
    parser.add_argument("--stdin", metavar="FILE",
                        help="text for the program's standard input; - is tinirun's own")
    parser.add_argument("-o", "--out", metavar="DIR",
                        help="write the files the program leaves in ./out/ into DIR")
    add_limits(parser)
    add_verbosity(parser)
    add_connection(parser)
    parser.set_defaults(handler=run_command)


def add_limits(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("limits")
    group.add_argument("-t", "--timeout", type=int, metavar="SECONDS",
                       help="kill the program after this long (5-300, default 60)")
    group.add_argument("-m", "--mem", type=int, metavar="MIB",
                       help="memory limit in MiB (1-2048, default 256)")
    group.add_argument("--cpu", type=float, metavar="CORES",
                       help="CPU quota in cores (0.1-4.0, default 0.5)")


def language_of(source: str, lang: str | None) -> str:
    if lang:
        return lang
    if source == "-":
        raise UsageError("reading code from stdin: say its language with --lang")
    language = language_for_extension(Path(source).suffix)
    if language is None:
        known = ", ".join(f".{e}" for lang in all_languages().values() for e in lang.extensions)
        raise UsageError(f"cannot tell the language of {source} from its extension ({known}); "
                         "use --lang")
    return language.name


def attached_files(specs: list[str]) -> dict[str, bytes]:
    """`PATH[:DEST]` specs as {path under ./files: content}; folders bring their files."""
    files: dict[str, bytes] = {}
    for spec in specs:
        local, _, dest = spec.partition(":")
        path = Path(local)
        name = dest.strip("/") or path.resolve().name
        try:
            if path.is_dir():
                for item in sorted(p for p in path.rglob("*") if p.is_file()):
                    files[f"{name}/{item.relative_to(path).as_posix()}"] = item.read_bytes()
            elif path.is_file():
                files[name] = path.read_bytes()
            else:
                raise UsageError(f"--file {spec}: no such file or folder: {local}")
        except OSError as exc:
            raise UsageError(f"--file {spec}: cannot read it: {exc.strerror or exc}") from exc
    return files


def run_command(args: argparse.Namespace) -> int:
    if args.source == "-" and args.stdin == "-":
        raise UsageError("the code and the program's input cannot both come from stdin")
    lang = language_of(args.source, args.lang)
    code = read_source(args.source)
    stdin = read_source(args.stdin) if args.stdin is not None else None
    files = attached_files(args.file) or None
    progress = Progress(args.verbose, args.quiet)
    with client_of(args) as client:
        stream = client.run_code_stream(
            code, lang, dependencies=args.dep, files=files, timeout=args.timeout,
            mem_limit_mb=args.mem, cpu_limit=args.cpu, stdin=stdin, args=args.args or None,
        )
        return stream_run(stream, progress, client.url, args.timeout, out_dir=args.out)


def stream_run(stream: ChunkStream, progress: Progress, url: str, timeout: int | None,
               out_dir: str | None = None) -> int:
    """Write a run's chunks where they belong and return the exit code for its end; with
    `out_dir`, write the result's output files there."""
    out = sys.stdout.buffer
    err = sys.stderr.buffer
    result: RunResult | None = None
    failure: ErrorChunk | None = None
    ends = {"stdout": b"\n", "stderr": b"\n"}  # the last byte written to each
    try:
        with stream:
            for chunk in stream:
                if isinstance(chunk, StdoutChunk | StderrChunk):
                    progress.output_started()
                    target = out if isinstance(chunk, StdoutChunk) else err
                    data = chunk.data.encode()
                    target.write(data)
                    target.flush()
                    if data:
                        ends[chunk.event.value] = data[-1:]
                elif isinstance(chunk, InfoChunk):
                    progress.info(chunk.data)
                elif isinstance(chunk, DebugChunk):
                    progress.debug(chunk.data)
                elif isinstance(chunk, ResultChunk):
                    result = chunk.data
                elif isinstance(chunk, ErrorChunk):
                    failure = chunk
        if failure is not None:
            raise RunError(failure.data)
    except KeyboardInterrupt:
        progress.clear()
        return EXIT_INTERRUPTED
    except ClientError as exc:
        progress.clear()
        return report(exc, url)
    progress.clear()
    # On a terminal, end what the program left unfinished, so the prompt starts on its own
    # line; piped or redirected, its output stays byte for byte what it wrote.
    for name, stream_out, tty in (("stdout", out, sys.stdout), ("stderr", err, sys.stderr)):
        if ends[name] != b"\n" and tty.isatty():
            stream_out.write(b"\n")
            stream_out.flush()
    if result is None:
        error("the stream ended without a result")
        return EXIT_SERVICE
    if out_dir is not None:
        write_output_files(result, Path(out_dir))
    return exit_code_of(result, timeout)


def output_path(path: str) -> PurePosixPath:
    """Where an output file goes under --out: its path below ./out/ (or the work dir). A path
    that would leave the folder is refused (ValueError)."""
    parts = PurePosixPath(path).parts
    if parts and parts[0] == "out" and len(parts) > 1:
        parts = parts[1:]
    if not parts or PurePosixPath(path).is_absolute() or any(p in ("..", ".", "") for p in parts):
        raise ValueError(f"refusing output file path {path!r}")
    return PurePosixPath(*parts)


def write_output_files(result: RunResult, folder: Path) -> None:
    """Write the result's output files under `folder`; say what was written or left out."""
    written = 0
    for item in result.output_files:
        try:
            target = folder / output_path(item.path)
        except ValueError as exc:
            error(str(exc))
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.content)
        except OSError as exc:
            error(f"cannot write {target}: {exc.strerror or exc}")
            continue
        written += 1
    if written or not result.output_files_truncated:
        print(f"tinirun: wrote {written} output file{'' if written == 1 else 's'} to {folder}",
              file=sys.stderr)
    if result.output_files_truncated:
        omitted = ", ".join(result.output_files_omitted) or "some"
        error(f"output files past the service's cap were left out: {omitted}")


def exit_code_of(result: RunResult, timeout: int | None) -> int:
    if result.timeout:
        error(f"the program timed out after {timeout or DEFAULT_TIMEOUT} s",
              "give it longer with --timeout (at most 300)")
        return EXIT_TIMEOUT
    if result.oom_killed:
        error("the program ran out of memory", "give it more with --mem (MiB, at most 2048)")
    if result.exit_code is None:
        return EXIT_SERVICE
    return result.exit_code if 0 <= result.exit_code <= 255 else result.exit_code % 256
