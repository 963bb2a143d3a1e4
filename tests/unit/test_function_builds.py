"""Function builds against the fake engine and a real SQLite store: the status a build ends
with, and the race of two versions built at once (the older never wins)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeEngine, Program
from tests.wait import async_wait_until
from tinirun.engine.container import Isolation
from tinirun.labels import FUNCTION
from tinirun.models import ChunkEvent, RunLimits
from tinirun.runner.functions import FunctionService, image_tag, info_of
from tinirun.runner.images import ImageManager
from tinirun.runner.pool import PoolSettings, WarmPool
from tinirun.runner.run import Runner
from tinirun.store.sqlite import SqliteStore


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[FunctionService, FakeEngine]]:
    engine = FakeEngine(lambda config: Program(output=[(1, b"Hello, x!")]))
    images = ImageManager(engine)  # type: ignore[arg-type]
    pool = WarmPool(engine, PoolSettings(size=0))  # type: ignore[arg-type]
    runner = Runner(engine, images, Isolation(), pool)  # type: ignore[arg-type]
    store = await SqliteStore.open(tmp_path / "data")
    functions = FunctionService(store, engine, images, runner, pool,  # type: ignore[arg-type]
                                labels={"tinirun.owner": "me"})
    for lang in ("python", "bash"):
        from tinirun.languages import get_language
        engine.add_image(images.runtime_tag(get_language(lang)))
    try:
        yield functions, engine
    finally:
        await functions.close()
        await store.close()


async def status(functions: FunctionService, name: str) -> dict[str, Any]:
    record = await functions.get(name)
    data: dict[str, Any] = info_of(record).model_dump(mode="json")["status"]
    return data


async def test_a_build_ends_ready_and_the_function_runs(
        service: tuple[FunctionService, FakeEngine]) -> None:
    functions, engine = service
    record = await functions.create("greet", "python")
    chunks = [c async for c in functions.build(record)]
    assert chunks[-1].event == ChunkEvent.INFO and "is ready" in str(chunks[-1].data)
    ready = await status(functions, "greet")
    assert ready["type"] == "ready" and ready["tag"] == image_tag("greet", record.version, "me")
    record, tag = await functions.ready_image("greet")
    out = [c async for c in functions.run(record, tag, "x", RunLimits())]
    assert out[-1].event == ChunkEvent.RESULT


async def test_a_failed_build_ends_in_error_never_building(
        service: tuple[FunctionService, FakeEngine]) -> None:
    functions, engine = service
    record = await functions.create("broken", "python")
    engine.build_errors[image_tag("broken", record.version, "me")] = "SyntaxError: invalid syntax"
    chunks = [c async for c in functions.build(record)]
    assert chunks[-1].event == ChunkEvent.ERROR
    failed = await status(functions, "broken")
    assert failed["type"] == "error" and failed["error"] == "build_failed"


async def test_older_build_finishing_last_does_not_overwrite_the_newer(
        service: tuple[FunctionService, FakeEngine]) -> None:
    functions, engine = service
    first = await functions.create("race", "bash")
    old_tag = image_tag("race", first.version, "me")
    engine.build_gates[old_tag] = asyncio.Event()  # the first build hangs until released
    old_chunks = functions.build(first)
    old_task = asyncio.create_task(_collect(old_chunks))
    await async_wait_until(lambda: engine.calls["build"] >= 1, "the first build started")

    second = await functions.update("race", "echo v2", None, None)
    new_chunks = [c async for c in functions.build(second)]
    assert "is ready" in str(new_chunks[-1].data)
    engine.build_gates[old_tag].set()
    old = await old_task
    assert old[-1] == "A newer version replaced this build"
    final = await status(functions, "race")
    assert final["tag"] == image_tag("race", second.version, "me")
    # The older image is gone, the newer stays.
    tags = {t for i in await engine.list_images(FUNCTION) for t in i["RepoTags"]}
    assert tags == {image_tag("race", second.version, "me")}


async def test_recover_sets_a_build_left_building_to_not_built(
        service: tuple[FunctionService, FakeEngine]) -> None:
    functions, engine = service
    await functions.create("left", "bash")  # `building`, and no build runs (a crash)
    assert (await status(functions, "left"))["type"] == "building"
    assert await functions.recover() == 1
    assert (await status(functions, "left"))["type"] == "not_built"


async def test_a_ready_function_whose_image_vanished_goes_back_to_not_built(
        service: tuple[FunctionService, FakeEngine]) -> None:
    functions, engine = service
    record = await functions.create("vanish", "bash")
    [c async for c in functions.build(record)]
    await engine.remove_image(image_tag("vanish", record.version, "me"))
    assert await functions.sync_statuses() == 1
    assert (await status(functions, "vanish"))["type"] == "not_built"


async def _collect(chunks: AsyncIterator[Any]) -> list[str]:
    return [str(c.data) async for c in chunks]


def test_tags_are_valid_for_every_name_and_apart_per_installation() -> None:
    """Image tags are global to the engine: two installations' functions of one name must
    never share an image (one would run, replace or remove the other's)."""
    import re

    component = re.compile(r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*")
    for name in ("_x", "x_", "-x", "X-_-Y", "__", "a_b", "a-b"):
        repo = image_tag(name, 0, "me").split(":")[0]
        assert component.fullmatch(repo), repo
    assert image_tag("a_b", 0, "me") != image_tag("a-b", 0, "me")
    assert image_tag("life", 0, "me") != image_tag("life", 0, "someone-else")
