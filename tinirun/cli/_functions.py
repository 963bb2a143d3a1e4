"""`tinirun fn list|show|create|update|run|delete`: named functions on the service."""

from __future__ import annotations

import argparse
import json
import sys

from tinirun_client import (
    ChunkStream,
    Client,
    ClientError,
    DebugChunk,
    ErrorChunk,
    InfoChunk,
    RunError,
)

from tinirun.cli._output import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SERVICE,
    Progress,
    Style,
    UsageError,
    add_connection,
    add_verbosity,
    client_of,
    examples,
    print_table,
    read_source,
    report,
)
from tinirun.cli._run import add_limits, language_of, stream_run
from tinirun.languages import all_languages

EPILOG = examples(
    "tinirun fn create greet greet.py              # language from the extension",
    "tinirun fn create hello --lang go             # the language's sample function",
    "tinirun fn run greet 'world'",
    "printf world | tinirun fn run greet -          # the input from stdin, as is",
    "tinirun fn show greet --code > greet.py       # edit it, then:",
    "tinirun fn update greet greet.py --dep requests",
    "tinirun fn list",
    "tinirun fn delete greet",
) + """

A function's file defines run(input) (see the README for each language's signature); it
is built into an image once, then each run passes INPUT on its standard input."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fn = commands.add_parser(
        "fn", help="named functions: built once, run many times with an input",
        description="Manage and run the service's named functions.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = fn.add_subparsers(dest="fn_command", required=True, metavar="COMMAND")

    def command(name: str, help: str, example: list[str]) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                                epilog=examples(*example),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
        return parser

    listing = command("list", "list the functions, by name",
                      ["tinirun fn list", "tinirun fn list --json | jq -r '.[].name'"])
    listing.add_argument("--json", action="store_true", help="the service's JSON answer")
    add_connection(listing)
    listing.set_defaults(handler=list_command)

    show = command("show", "show a function's info and code",
                   ["tinirun fn show greet", "tinirun fn show greet --code > greet.py"])
    show.add_argument("name")
    show.add_argument("--code", action="store_true", help="only the code")
    show.add_argument("--json", action="store_true", help="the service's JSON answer")
    add_connection(show)
    show.set_defaults(handler=show_command)

    create = command("create", "create a function and build it",
                     ["tinirun fn create greet greet.py --dep requests",
                      "tinirun fn create hello --lang rust   # starts from the sample"])
    create.add_argument("name", help="1 to 50 letters, _ or -")
    create.add_argument("source", metavar="FILE", nargs="?",
                        help="its code (- for stdin); default: the language's sample")
    create.add_argument("-l", "--lang", choices=sorted(all_languages()),
                        help="its language (default: from FILE's extension)")
    add_code_options(create)
    add_verbosity(create)
    add_connection(create)
    create.set_defaults(handler=create_command)

    update = command("update", "replace a function's code and rebuild it",
                     ["tinirun fn update greet greet.py",
                      "tinirun fn update greet greet.py --dep requests --description 'Says hi'",
                      "tinirun fn update greet greet.py --no-deps"])
    update.add_argument("name")
    update.add_argument("source", metavar="FILE", help="the new code (- for stdin)")
    add_code_options(update)
    add_verbosity(update)
    add_connection(update)
    update.set_defaults(handler=update_command)

    run = command("run", "run a function with an input, streaming its output",
                  ["tinirun fn run greet world", "tinirun fn run greet - < input.txt",
                   "tinirun fn run slow 'x' --timeout 120"])
    run.add_argument("name")
    run.add_argument("input", nargs="?", default="",
                     help="the text on its standard input; - reads tinirun's (default: empty)")
    add_limits(run)
    add_verbosity(run)
    add_connection(run)
    run.set_defaults(handler=run_command)

    delete = command("delete", "delete a function and its images", ["tinirun fn delete greet"])
    delete.add_argument("name")
    add_connection(delete)
    delete.set_defaults(handler=delete_command)


def add_code_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--dep", action="append", metavar="DEP",
                        help="a dependency (repeat for more); default: keep the current ones")
    parser.add_argument("--no-deps", action="store_true", help="remove every dependency")
    parser.add_argument("--description", metavar="TEXT",
                        help="what it does; default: keep the current one")


def _status(kind: str, style: Style) -> str:
    if kind == "ready":
        return style.green(kind)
    if kind == "error":
        return style.red(kind)
    return style.yellow(kind) if kind == "building" else kind


def list_command(args: argparse.Namespace) -> int:
    with client_of(args) as client:
        try:
            items = client.list_functions()
        except ClientError as exc:
            return report(exc, client.url)
    if args.json:
        print(json.dumps([item.to_json() for item in items], indent=2))
        return EXIT_OK
    if not items:
        print("no functions yet (create one: tinirun fn create NAME FILE)", file=sys.stderr)
        return EXIT_OK
    style = Style(sys.stdout)
    rows = [(i.name, i.info.lang, i.info.status.type, str(i.info.version),
             i.info.updated_at[:19].replace("T", " ")) for i in items]
    print_table(("NAME", "LANG", "STATUS", "VERSION", "UPDATED"), rows, style,
                paint={2: lambda kind: _status(kind, style)})
    return EXIT_OK


def show_command(args: argparse.Namespace) -> int:
    with client_of(args) as client:
        try:
            detail = client.get_function_detail(args.name)
        except ClientError as exc:
            return report(exc, client.url)
    if args.json:
        print(json.dumps(detail.to_json(), indent=2))
        return EXIT_OK
    if args.code:
        sys.stdout.write(detail.code)
        return EXIT_OK
    style = Style(sys.stdout)
    status = detail.status
    fields = [
        ("name", args.name), ("language", detail.lang),
        ("status", _status(status.type, style)), ("version", str(detail.version)),
        ("description", detail.description or "-"), ("dependencies", detail.dependencies or "-"),
        ("created", detail.created_at), ("updated", detail.updated_at),
    ]
    if status.type == "ready":
        fields.append(("image", status.tag))
    if status.type == "error":
        fields.append(("error", status.message))
    for label, value in fields:
        print(f"{style.dim(label.ljust(12))} {value}")
    print(style.dim("─" * 40))
    sys.stdout.write(detail.code if detail.code.endswith("\n") else detail.code + "\n")
    return EXIT_OK


def follow_build(stream: ChunkStream, progress: Progress) -> None:
    """Show a build's progress; RunError when it failed (once the stream ended, which is
    when the service has stored the function's status)."""
    failure: ErrorChunk | None = None
    with stream:
        for chunk in stream:
            if isinstance(chunk, InfoChunk):
                progress.info(chunk.data)
            elif isinstance(chunk, DebugChunk):
                progress.debug(chunk.data)
            elif isinstance(chunk, ErrorChunk):
                failure = chunk
    progress.clear()
    if failure is not None:
        raise RunError(failure.data)


def _dependencies(args: argparse.Namespace, current: str | None) -> list[str] | None:
    if args.no_deps and args.dep:
        raise UsageError("--dep and --no-deps contradict each other")
    if args.no_deps:
        return []
    if args.dep:
        return list(args.dep)
    return current.split() if current else None


def _built(client: Client, name: str, verb: str) -> int:
    info = client.get_function(name)
    print(f"{verb} {name} ({info.lang}, version {info.version}): {info.status.type}")
    return EXIT_OK if info.status.type == "ready" else EXIT_SERVICE


def create_command(args: argparse.Namespace) -> int:
    if args.source is None and not args.lang:
        raise UsageError("say the language with --lang, or give a FILE with an extension")
    lang = language_of(args.source, args.lang) if args.source else args.lang
    code = read_source(args.source) if args.source else None
    if code is None and (args.dep or args.description):
        raise UsageError("--dep and --description need a FILE (the sample has no dependencies)")
    progress = Progress(args.verbose, args.quiet)
    with client_of(args) as client:
        try:
            stream = client.create_function_stream(args.name, lang)
            if code is None:
                follow_build(stream, progress)
            else:
                # The service builds the sample first; hang up on it (it finishes on its own
                # and never overwrites a newer version) and build the code right away.
                with stream:
                    pass
                deps = _dependencies(args, None)
                follow_build(client.update_function_stream(
                    args.name, code, description=args.description, dependencies=deps), progress)
            return _built(client, args.name, "created")
        except KeyboardInterrupt:
            progress.clear()
            return EXIT_INTERRUPTED
        except ClientError as exc:
            progress.clear()
            return report(exc, client.url)


def update_command(args: argparse.Namespace) -> int:
    code = read_source(args.source)
    progress = Progress(args.verbose, args.quiet)
    with client_of(args) as client:
        try:
            current = client.get_function_detail(args.name)
            description = current.description if args.description is None else args.description
            deps = _dependencies(args, current.dependencies)
            follow_build(client.update_function_stream(
                args.name, code, description=description, dependencies=deps), progress)
            return _built(client, args.name, "updated")
        except KeyboardInterrupt:
            progress.clear()
            return EXIT_INTERRUPTED
        except ClientError as exc:
            progress.clear()
            return report(exc, client.url)


def run_command(args: argparse.Namespace) -> int:
    text = read_source("-") if args.input == "-" else args.input
    progress = Progress(args.verbose, args.quiet)
    with client_of(args) as client:
        stream = client.run_function_stream(args.name, text, timeout=args.timeout,
                                            mem_limit_mb=args.mem, cpu_limit=args.cpu)
        return stream_run(stream, progress, client.url, args.timeout)


def delete_command(args: argparse.Namespace) -> int:
    with client_of(args) as client:
        try:
            client.delete_function(args.name)
        except ClientError as exc:
            return report(exc, client.url)
    print(f"deleted {args.name}")
    return EXIT_OK
