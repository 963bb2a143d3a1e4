"""`tinirun mcp`: an MCP server on standard input and output, for desktop assistants and IDE
agents, whose tools call a tinirun service (--url, --api-key, as the other client commands)."""

from __future__ import annotations

import argparse
import sys

from tinirun.cli._output import EXIT_OK, add_connection, examples


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "mcp", help="serve the service's tools to an LLM agent (MCP over stdio)",
        description="Speak the Model Context Protocol on stdin/stdout: tools to run code and "
                    "manage functions on the service. An assistant starts this command "
                    "itself; see the README for its configuration.",
        epilog=examples("tinirun mcp --url http://127.0.0.1:8082 --api-key secret",
                        "TINIRUN_URL=https://runner.example.com TINIRUN_API_KEY=secret "
                        "tinirun mcp"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_connection(parser)
    parser.set_defaults(handler=mcp_command)


def mcp_command(args: argparse.Namespace) -> int:
    from tinirun_client import AsyncClient
    from tinirun_client._request import api_key

    from tinirun.mcp import build_server

    if api_key(args.api_key) is None:
        # stdout is the protocol's: say it on stderr, which assistants show in their logs.
        print("tinirun mcp: no API key (--api-key or $TINIRUN_API_KEY): the service will "
              "refuse every call", file=sys.stderr)
    build_server(lambda: AsyncClient(args.url, args.api_key)).run("stdio")
    return EXIT_OK
