"""Typed function status: a final status the store refused is retried and, if the store stays
down, stored by the sweep; the sweep resets a stale `building` (on a real SQLite store)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tinirun.errors import StoreUnavailableError
from tinirun.function_models import FunctionStatus, StatusBuilding, StatusNotBuilt, StatusReady
from tinirun.runner import functions as functions_module
from tinirun.runner.functions import FunctionService
from tinirun.store import open_store
from tinirun.store.base import FunctionRecord, Store

OLD = "2020-01-01T00:00:00.000000Z"


class FlakyStore:
    """A real store whose status writes fail while `down`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.down = False
        self.failed = 0

    async def set_status(self, name: str, status: FunctionStatus,
                         version: int | None = None) -> bool:
        if self.down:
            self.failed += 1
            raise StoreUnavailableError("the store is down")
        return await self.store.set_status(name, status, version)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


class Images:
    """An engine that has the images named."""

    def __init__(self, *tags: str) -> None:
        self.tags = set(tags)

    async def image_id(self, ref: str) -> str | None:
        return "sha256:1" if ref in self.tags else None


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[FlakyStore]:
    real = await open_store(None, tmp_path)
    yield FlakyStore(real)
    await real.close()


def service(store: FlakyStore, *images: str) -> FunctionService:
    return FunctionService(store, Images(*images), None, None, None)  # type: ignore[arg-type]


def record(name: str, status: FunctionStatus, updated_at: str) -> FunctionRecord:
    return FunctionRecord(name=name, lang="python", code="x", status=status,
                          created_at=updated_at, updated_at=updated_at)


async def test_a_status_the_store_refused_is_stored_by_the_sweep(
    store: FlakyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(functions_module, "STATUS_RETRY_DELAY", 0)
    functions = service(store, "tinirun-fn-f:v0")
    await store.create(record("f", StatusBuilding(), functions_module.now()))
    ready = StatusReady(tag="tinirun-fn-f:v0", id="sha256:1")
    store.down = True
    stored = await functions._store_final(await functions.get("f"), ready)
    assert stored is None and store.failed == functions_module.STATUS_WRITE_ATTEMPTS
    assert (await functions.get("f")).status == StatusBuilding()
    store.down = False
    assert await functions.sync_statuses() == 1
    assert (await functions.get("f")).status == ready
    assert await functions.sync_statuses() == 0  # stored once


async def test_a_status_stored_on_a_retry(store: FlakyStore,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(functions_module, "STATUS_RETRY_DELAY", 0)
    functions = service(store)
    await store.create(record("g", StatusBuilding(), functions_module.now()))
    calls = 0
    real_set = store.store.set_status

    async def fail_once(name: str, status: FunctionStatus, version: int | None = None) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreUnavailableError("blip")
        return await real_set(name, status, version)

    monkeypatch.setattr(store, "set_status", fail_once)
    ready = StatusReady(tag="t", id="i")
    assert await functions._store_final(await functions.get("g"), ready) is True
    assert (await functions.get("g")).status == ready


async def test_the_sweep_resets_a_stale_building(store: FlakyStore) -> None:
    functions = service(store)
    await store.create(record("stale", StatusBuilding(), OLD))
    await store.create(record("recent", StatusBuilding(), functions_module.now()))
    await store.create(record("mine", StatusBuilding(), OLD))
    functions._building["mine"] = 0  # a build of this service is behind it
    assert await functions.sync_statuses() == 1
    assert (await functions.get("stale")).status == StatusNotBuilt()
    assert (await functions.get("recent")).status == StatusBuilding()
    assert (await functions.get("mine")).status == StatusBuilding()
