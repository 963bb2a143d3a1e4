"""`tinirun languages`: the languages the service runs, with their runtime versions, as the
service reports them (GET /api/languages)."""

from __future__ import annotations

import argparse
import json
import sys

from tinirun_client import ClientError

from tinirun.cli._output import (
    EXIT_OK,
    Style,
    add_connection,
    client_of,
    examples,
    print_table,
    report,
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "languages", help="list the languages the service runs, with their versions",
        description="List the service's languages: runtime version, file extension, whether "
                    "it compiles, and how dependencies are written.",
        epilog=examples("tinirun languages", "tinirun languages --json | jq -r '.[].name'"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="the service's JSON answer")
    add_connection(parser)
    parser.set_defaults(handler=languages_command)


def languages_command(args: argparse.Namespace) -> int:
    with client_of(args) as client:
        try:
            languages = client.languages()
        except ClientError as exc:
            return report(exc, client.url)
    if args.json:
        print(json.dumps([language.to_json() for language in languages], indent=2))
        return EXIT_OK
    rows = [(lang.name, lang.version or "(image not built)", f".{lang.extension}",
             "yes" if lang.compiled else "no", lang.dependencies.manager or "-")
            for lang in languages]
    print_table(("NAME", "VERSION", "FILE", "COMPILED", "DEPENDENCIES"), rows, Style(sys.stdout))
    return EXIT_OK
