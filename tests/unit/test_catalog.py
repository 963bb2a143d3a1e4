"""GET /api/languages's data: each folder described, each runtime's version read once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from tinirun.engine.attached import Exit
from tinirun.engine.container import Isolation
from tinirun.engine.docker import Engine
from tinirun.engine.output import Output
from tinirun.languages import all_languages, get_language
from tinirun.runner.catalog import LanguageCatalog, describe
from tinirun.runner.images import ImageManager
from tinirun.runner.pool import PoolSettings, WarmPool
from tinirun.runner.run import Runner


class FakeEngine(Engine):
    """The engine seam: images that exist, and runs that print a version."""

    def __init__(self, built: set[str]) -> None:
        super().__init__()
        self.built = built
        self.runs: list[str] = []

    async def image_id(self, ref: str) -> str | None:
        return "sha256:x" if ref in self.built else None

    async def run(self, config: dict[str, Any], stdin: bytes,
                  time_limit: float, mark: bytes | None = None) -> AsyncIterator[Output | Exit]:
        self.runs.append(config["Image"])
        await asyncio.sleep(0)
        yield Output(1, f"v1.2.3 of {config['Image']}\nmore\n".encode())
        yield Exit(exit_code=0, timed_out=False, oom_killed=False, duration_ms=1)


def catalog_with(built: set[str]) -> tuple[LanguageCatalog, FakeEngine, ImageManager]:
    engine = FakeEngine(built)
    images = ImageManager(engine)
    runner = Runner(engine, images, Isolation(), WarmPool(engine, PoolSettings(size=0)))
    return LanguageCatalog(all_languages(), engine, images, runner), engine, images


def test_versions_are_read_once_per_image_and_not_before_it_is_built() -> None:
    python = get_language("python")
    images = ImageManager(Engine())
    catalog, engine, images = catalog_with({images.runtime_tag(python)})

    async def twice() -> tuple[list[Any], list[Any]]:
        first = await catalog.describe_all()
        second = await catalog.describe_all()
        return first, second

    first, second = asyncio.run(twice())
    tag = images.runtime_tag(python)
    assert engine.runs == [tag]  # one read, for the one image that exists
    by_name = {info.name: info for info in first}
    assert by_name["python"].version == f"v1.2.3 of {tag}"
    assert by_name["go"].version is None
    assert [i.model_dump() for i in first] == [i.model_dump() for i in second]
    # Once another image is built, its version is read (once).
    engine.built.add(images.runtime_tag(get_language("go")))
    third = asyncio.run(catalog.describe_all())
    assert {i.name: i.version is not None for i in third}["go"]
    assert len(engine.runs) == 2


def test_description_comes_from_the_folder() -> None:
    rust = describe(get_language("rust"), "rustc 1.85.1")
    assert rust.extension == "rs" and rust.source == "main.rs" and rust.compiled
    assert rust.dependencies.manager == "cargo"
    assert rust.example == get_language("rust").example_code
    assert rust.diagnostics[0].message_at == "before"
    python = describe(get_language("python"), None)
    assert not python.compiled and python.version is None
    assert describe(get_language("go"), None).editor.indent == "\t"
