"""The `tinirun` command: `serve` the API, and `images build|list` ahead of time."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from tinirun.config import Config, ConfigError


def _serve(args: argparse.Namespace) -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"tinirun: {exc}", file=sys.stderr)
        return 2
    from tinirun.api.server import serve

    serve(config)
    return 0


async def _build_images(names: Sequence[str]) -> int:
    from tinirun.config import Config
    from tinirun.engine.docker import Engine
    from tinirun.errors import EngineError
    from tinirun.languages import all_languages
    from tinirun.models import Chunk
    from tinirun.runner.images import ImageManager, ImageReady

    env_config = Config.from_env({"RUNNER_API_KEY": "unused", **_environ()})
    engine = Engine()
    images = ImageManager(engine, env_config.base_image, env_config.image_overrides,
                          env_config.extra_ca_bundle)
    languages = all_languages()
    unknown = [n for n in names if n not in languages]
    if unknown:
        print(f"tinirun: unknown language {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        for name in names or list(languages):
            async for item in images.ensure_runtime(languages[name]):
                if isinstance(item, ImageReady):
                    print(f"{name}: {item.tag}")
                elif isinstance(item, Chunk) and sys.stderr.isatty():
                    print(f"  {item.data}", file=sys.stderr)
    except EngineError as exc:
        print(f"tinirun: {exc}", file=sys.stderr)
        logs = getattr(exc, "logs", "")
        if logs:
            print(logs[-4000:], file=sys.stderr)
        return 1
    finally:
        await engine.close()
    return 0


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinirun",
        description="Run code snippets in ephemeral, hardened Docker containers.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  RUNNER_API_KEY=secret tinirun serve\n  tinirun images build python go",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the HTTP service (settings: RUNNER_*)")
    serve.set_defaults(handler=_serve)
    images = commands.add_parser("images", help="runtime images")
    image_commands = images.add_subparsers(dest="images_command", required=True)
    build = image_commands.add_parser(
        "build", help="build the runtime images ahead of first use",
        description="Build the runtime image of each language named (default: all).",
    )
    build.add_argument("languages", nargs="*", help="languages to build (default: all)")
    build.set_defaults(handler=lambda a: asyncio.run(_build_images(a.languages)))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
