"""`tinirun serve` and `tinirun images build|list`: the service itself and its runtime images
on the local Docker engine (these import the server; the client commands do not)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from tinirun.cli._output import (
    EXIT_OK,
    EXIT_SERVICE,
    EXIT_USAGE,
    Style,
    error,
    examples,
    print_table,
)
from tinirun.config import Config, ConfigError
from tinirun.languages import all_languages


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="start the HTTP service (settings: RUNNER_* variables)",
        description="Start the service. Every setting is an environment variable (see the "
                    "README's table); RUNNER_API_KEY is required.",
        epilog=examples("RUNNER_API_KEY=secret tinirun serve",
                        "RUNNER_API_KEY=secret RUNNER_PORT=9000 RUNNER_HOST=0.0.0.0 tinirun serve",
                        "RUNNER_API_KEY=secret RUNNER_REDIS_URL=redis://localhost:6379 tinirun serve"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.set_defaults(handler=serve_command)

    images = commands.add_parser(
        "images", help="runtime images on the local Docker engine",
        description="Build or list the images the service runs code in.",
        epilog=examples("tinirun images build", "tinirun images build python go",
                        "tinirun images list"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = images.add_subparsers(dest="images_command", required=True, metavar="COMMAND")
    build = sub.add_parser(
        "build", help="build the runtime images ahead of first use",
        description="Build the runtime image of each language named (default: all); "
                    "instant for those already built.",
        epilog=examples("tinirun images build", "tinirun images build python javascript"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("languages", nargs="*", metavar="LANG",
                       help=f"languages to build: {', '.join(sorted(all_languages()))}")
    build.set_defaults(handler=lambda a: asyncio.run(build_images(a.languages)))
    listing = sub.add_parser(
        "list", help="list this installation's images (runtimes, dependencies, functions)",
        description="List the tagged images this installation uses on the engine, with their "
                    "kind and size: the current runtime images, the dependency images (shared "
                    "by every installation on the engine) and the function images of this "
                    "data directory's functions. --all lists every image tinirun made.",
        epilog=examples("tinirun images list", "tinirun images list --all"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument("--all", action="store_true",
                         help="also untagged images, older runtime images and other "
                              "installations' function images")
    listing.set_defaults(handler=lambda a: asyncio.run(list_images(a.all)))


def serve_command(args: argparse.Namespace) -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        error(str(exc))
        return EXIT_USAGE
    from tinirun.api.server import serve
    from tinirun.datadir import DataDirInUseError

    try:
        serve(config)
    except DataDirInUseError as exc:
        error(str(exc))
        return EXIT_SERVICE
    return EXIT_OK


def env_config() -> Config:
    """The service's settings, for commands that need no API key."""
    return Config.from_env({"RUNNER_API_KEY": "unused", **os.environ})


async def build_images(names: Sequence[str]) -> int:
    from tinirun.engine.docker import Engine
    from tinirun.errors import EngineError
    from tinirun.models import Chunk
    from tinirun.runner.runtimes import ImageReady
    from tinirun.service import make_images

    config = env_config()
    languages = all_languages()
    unknown = [n for n in names if n not in languages]
    if unknown:
        error(f"unknown language {', '.join(unknown)}",
              f"choose from {', '.join(sorted(languages))}")
        return EXIT_USAGE
    engine = Engine()
    images = make_images(config, engine)
    try:
        for name in names or list(languages):
            async for item in images.ensure_runtime(languages[name]):
                if isinstance(item, ImageReady):
                    print(f"{name}: {item.tag}")
                elif isinstance(item, Chunk) and (item.event == "info" or sys.stderr.isatty()):
                    print(f"  {item.data}", file=sys.stderr)  # the build's log on a terminal
    except EngineError as exc:
        error(str(exc))
        logs = getattr(exc, "logs", "")
        if logs:
            print(logs[-4000:], file=sys.stderr)
        return 1
    finally:
        await engine.close()
    return EXIT_OK


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _installation(config: Config) -> str | None:
    """This data directory's installation id, if a service ever ran with it (never made here)."""
    path = config.data_dir / "installation-id"
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _ours(labels: dict[str, str], tag: str, runtime_tags: set[str], owner: str | None) -> bool:
    """Whether a tagged image is one this installation uses."""
    from tinirun.labels import KIND, OWNER, Kind

    kind = labels.get(KIND)
    if kind == Kind.RUNTIME:
        return tag in runtime_tags
    if kind == Kind.FUNCTION:
        return owner is not None and labels.get(OWNER) == owner
    return kind == Kind.DEPENDENCIES


async def list_images(everything: bool = False) -> int:
    from tinirun.engine.docker import Engine
    from tinirun.errors import EngineError
    from tinirun.labels import FUNCTION, KIND, LANG, SERVICE
    from tinirun.runner.images import ImageManager

    config = env_config()
    engine = Engine()
    try:
        found = await engine.list_images(SERVICE)
    except EngineError as exc:
        error(str(exc), "start the Docker engine, or point DOCKER_HOST at it")
        return 1
    finally:
        await engine.close()
    images = ImageManager(engine, config.base_image, config.image_overrides)
    runtime_tags = {images.runtime_tag(language) for language in all_languages().values()}
    owner = _installation(config)
    rows: list[tuple[str, ...]] = []
    hidden = 0
    for image in sorted(found, key=lambda i: (i.get("RepoTags") or ["~"])[0]):
        labels = image.get("Labels") or {}
        tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
        shown = tags if everything else [t for t in tags if _ours(labels, t, runtime_tags, owner)]
        if everything and not tags:
            shown = ["<untagged>"]
        hidden += len(tags or ["<untagged>"]) - len(shown)
        created = datetime.fromtimestamp(int(image.get("Created", 0)), UTC)
        # A runtime or dependency image is of a language; a function image of a function.
        of = labels.get(LANG) or labels.get(FUNCTION) or "-"
        rows += [(tag, labels.get(KIND, "-"), of,
                  _size(int(image.get("Size", 0))), created.strftime("%Y-%m-%d %H:%M"))
                 for tag in shown]
    style = Style(sys.stdout)
    print_table(("IMAGE", "KIND", "OF", "SIZE", "CREATED"), rows, style)
    if hidden:
        print(style.dim(f"({hidden} more: untagged, older or other installations' images; "
                        "--all lists them)"), file=sys.stderr)
    return EXIT_OK
