"""The housekeeper against the fake engine: what a cleanup pass removes and what it keeps."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes import FakeContainer, FakeEngine, Program
from tinirun.engine.container import Isolation
from tinirun.labels import FUNCTION, KIND, OWNER, VERSION, Kind
from tinirun.runner.functions import FunctionService, image_tag
from tinirun.runner.housekeeping import Housekeeper
from tinirun.runner.images import ImageManager
from tinirun.runner.pool import PoolSettings, WarmPool
from tinirun.runner.run import Runner
from tinirun.store.sqlite import SqliteStore

OWNER_ID = "me"


@pytest.fixture
async def keeper(tmp_path: Path) -> AsyncIterator[tuple[Housekeeper, FakeEngine]]:
    engine = FakeEngine()
    images = ImageManager(engine)  # type: ignore[arg-type]
    pool = WarmPool(engine, PoolSettings(size=0))  # type: ignore[arg-type]
    runner = Runner(engine, images, Isolation(), pool)  # type: ignore[arg-type]
    store = await SqliteStore.open(tmp_path / "data")
    functions = FunctionService(store, engine, images, runner, pool,  # type: ignore[arg-type]
                                labels={OWNER: OWNER_ID})
    keeper = Housekeeper(engine, images, runner, pool, functions,  # type: ignore[arg-type]
                         owner=OWNER_ID, dependency_max_age=3600)
    try:
        yield keeper, engine
    finally:
        await store.close()


def container(engine: FakeEngine, cid: str, state: str, owner: str = OWNER_ID,
              age: float = 0) -> None:
    config = {"Labels": {"tinirun": "1", OWNER: owner}, "HostConfig": {}}
    engine.containers[cid] = FakeContainer(cid, config, Program(), created=time.time() - age,
                                           state=state)


async def test_stopped_and_stale_created_containers_of_this_installation_go(
        keeper: tuple[Housekeeper, FakeEngine]) -> None:
    housekeeper, engine = keeper
    container(engine, "exited", "exited")
    container(engine, "dead", "dead")
    container(engine, "running", "running")
    container(engine, "just-created", "created")
    container(engine, "old-created", "created", age=600)
    container(engine, "theirs", "exited", owner="someone-else")
    await housekeeper.run_once()
    assert set(engine.containers) == {"running", "just-created", "theirs"}


async def test_old_dependency_images_go_recent_ones_stay(
        keeper: tuple[Housekeeper, FakeEngine]) -> None:
    housekeeper, engine = keeper
    engine.add_image("tinirun-deps-python:old", {KIND: Kind.DEPENDENCIES}).created = 0
    engine.add_image("tinirun-deps-python:new", {KIND: Kind.DEPENDENCIES})
    await housekeeper.run_once()
    assert set(engine.images) == {"tinirun-deps-python:new"}


async def test_function_images_older_than_the_latest_version_go(
        keeper: tuple[Housekeeper, FakeEngine]) -> None:
    housekeeper, engine = keeper
    functions = housekeeper.functions
    assert functions is not None
    record = await functions.create("fn", "bash")
    labels = {OWNER: OWNER_ID, FUNCTION: "fn"}
    old = image_tag("fn", record.version - 1)
    current = image_tag("fn", record.version)
    newer = image_tag("fn", record.version + 1)  # a build under way
    engine.add_image(old, {**labels, VERSION: str(record.version - 1)})
    engine.add_image(current, {**labels, VERSION: str(record.version)})
    engine.add_image(newer, {**labels, VERSION: str(record.version + 1)})
    engine.add_image("tinirun-fn-gone:v1", {OWNER: OWNER_ID, FUNCTION: "gone", VERSION: "1"})
    engine.add_image("tinirun-fn-theirs:v1", {OWNER: "someone-else", FUNCTION: "x",
                                              VERSION: "1"})
    await housekeeper.run_once()
    assert set(engine.images) == {current, newer, "tinirun-fn-theirs:v1"}


async def test_at_start_removes_what_a_crash_left(
        keeper: tuple[Housekeeper, FakeEngine]) -> None:
    housekeeper, engine = keeper
    container(engine, "left-running", "running")
    container(engine, "theirs", "running", owner="someone-else")
    await housekeeper.at_start()
    assert set(engine.containers) == {"theirs"}


async def test_past_the_total_size_cap_the_least_recently_used_images_go(
        keeper: tuple[Housekeeper, FakeEngine]) -> None:
    housekeeper, engine = keeper
    housekeeper.image_max_total = 250 << 20
    now = time.time()
    old = engine.add_image("tinirun-deps-python:old", {KIND: Kind.DEPENDENCIES})
    used = engine.add_image("tinirun-deps-python:used", {KIND: Kind.DEPENDENCIES})
    fn = engine.add_image("tinirun-fn-x:v1", {KIND: Kind.FUNCTION, OWNER: OWNER_ID})
    runtime = engine.add_image("tinirun-runtime-python:x", {KIND: Kind.RUNTIME})
    for image, size, created in ((old, 100, now - 300), (used, 100, now - 400),
                                 (fn, 100, now - 200), (runtime, 900, now - 900)):
        image.unique_size, image.created = size << 20, created
    housekeeper.images.touch("tinirun-deps-python:used")  # the oldest made, the latest used
    await housekeeper.run_once()
    assert set(engine.images) == {"tinirun-deps-python:used", "tinirun-fn-x:v1",
                                  "tinirun-runtime-python:x"}  # runtimes do not count
    housekeeper.image_max_total = 50 << 20
    await housekeeper.run_once()
    assert set(engine.images) == {"tinirun-runtime-python:x"}
