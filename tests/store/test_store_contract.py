"""The store contract, run against every back end (the `store` fixture), plus what is
particular to each: the Redis hash layout and outage recovery, the SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.conftest import RedisServer
from tinirun.errors import FunctionExistsError, NotFoundError, StoreUnavailableError
from tinirun.function_models import StatusBuilding, StatusError, StatusNotBuilt, StatusReady
from tinirun.models import ErrorKind
from tinirun.store import SqliteStore, keys, open_store
from tinirun.store.base import FunctionRecord, Store
from tinirun.store.redis import RedisStore

T0 = "2024-05-01T10:00:00Z"
T1 = "2024-05-02T11:30:00Z"
# Statuses are typed in the core; on disk and in Redis they are the contract's JSON objects.
READY_JSON: dict[str, Any] = {"type": "ready", "tag": "tinirun-fn-x:1", "id": "sha256:abc"}
READY = StatusReady(tag="tinirun-fn-x:1", id="sha256:abc")
ERROR = StatusError(error=ErrorKind.BUILD_FAILED, message="npm failed", logs="line\nline")


def record(name: str = "hello", **changes: Any) -> FunctionRecord:
    values: dict[str, Any] = {
        "name": name, "lang": "python", "code": "print('hi')", "status": StatusNotBuilt(),
        "created_at": T0, "updated_at": T0,
    }
    values.update(changes)
    return FunctionRecord(**values)


# --- The contract -----------------------------------------------------------------------------

async def test_round_trip_keeps_every_field(store: Store) -> None:
    plain = record("plain")
    full = record("full", lang="javascript", code="console.log('é ✓')\n", status=ERROR,
                  description="Says hi", dependencies=["lodash@4", "left-pad"], version=7,
                  updated_at=T1)
    await store.create(plain)
    await store.create(full)
    assert await store.get("plain") == plain
    assert await store.get("full") == full
    assert (await store.get("plain")).description is None  # type: ignore[union-attr]
    assert await store.get("missing") is None
    assert await store.list() == [full, plain]
    assert await store.count() == 2


async def test_empty_string_description_is_not_none(store: Store) -> None:
    await store.create(record(description=""))
    assert (await store.get("hello")).description == ""  # type: ignore[union-attr]


async def test_create_twice_is_refused(store: Store) -> None:
    await store.create(record(code="first"))
    with pytest.raises(FunctionExistsError):
        await store.create(record(code="second"))
    assert (await store.get("hello")).code == "first"  # type: ignore[union-attr]
    assert await store.count() == 1


async def test_concurrent_creates_of_one_name_let_one_win(store: Store) -> None:
    results = await asyncio.gather(
        *(store.create(record(code=str(i))) for i in range(10)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, FunctionExistsError) for r in results if r is not None)


async def test_list_orders_by_name_pages_and_has_no_cap(store: Store) -> None:
    names = [f"fn_{i:03d}" for i in range(150)]
    for name in reversed(names):
        await store.create(record(name))
    assert await store.count() == 150
    assert [r.name for r in await store.list()] == names
    assert [r.name for r in await store.list(offset=10, limit=5)] == names[10:15]
    assert [r.name for r in await store.list(offset=140)] == names[140:]
    assert [r.name for r in await store.list(offset=120, limit=100)] == names[120:]
    assert await store.list(offset=150) == []
    assert await store.list(limit=0) == []


async def test_list_order_is_byte_order_of_names(store: Store) -> None:
    for name in ["b", "B", "a-b", "a_b", "A", "_x"]:
        await store.create(record(name))
    assert [r.name for r in await store.list()] == sorted(["b", "B", "a-b", "a_b", "A", "_x"])


async def test_update_code_bumps_version_and_returns_record(store: Store) -> None:
    await store.create(record(description="old", dependencies=["a"], status=READY))
    updated = await store.update_code(
        "hello", "print('new')", None, ["b", "c"], T1, StatusBuilding()
    )
    expected = record(code="print('new')", dependencies=["b", "c"], status=StatusBuilding(),
                      updated_at=T1, version=1)
    assert updated == expected
    assert await store.get("hello") == expected
    again = await store.update_code("hello", "x", "new text", [], T1, StatusNotBuilt())
    assert (again.version, again.description, again.dependencies) == (2, "new text", [])
    assert again.created_at == T0


async def test_update_code_of_missing_function(store: Store) -> None:
    with pytest.raises(NotFoundError):
        await store.update_code("nope", "x", None, [], T1, StatusBuilding())
    assert await store.get("nope") is None
    assert await store.count() == 0


async def test_set_status_compares_version(store: Store) -> None:
    await store.create(record())
    await store.update_code("hello", "v2", None, [], T1, StatusBuilding())
    assert await store.set_status("hello", ERROR, version=0) is False
    assert (await store.get("hello")).status == StatusBuilding()  # type: ignore[union-attr]
    assert await store.set_status("hello", READY, version=1) is True
    stored = await store.get("hello")
    assert stored is not None
    assert (stored.status, stored.version, stored.code) == (READY, 1, "v2")
    assert await store.set_status("hello", StatusNotBuilt()) is True
    assert (await store.get("hello")).status == StatusNotBuilt()  # type: ignore[union-attr]
    assert await store.set_status("missing", READY) is False
    assert await store.get("missing") is None


async def test_delete(store: Store) -> None:
    await store.create(record("a"))
    await store.create(record("b"))
    assert await store.delete("a") is True
    assert await store.delete("a") is False
    assert await store.get("a") is None
    assert [r.name for r in await store.list()] == ["b"]
    assert await store.count() == 1
    await store.create(record("a", code="again"))
    assert (await store.get("a")).code == "again"  # type: ignore[union-attr]


async def test_concurrent_updates_are_serialised(store: Store) -> None:
    await store.create(record())
    results = await asyncio.gather(*(
        store.update_code("hello", f"code {i}", f"d{i}", [f"dep{i}"], T1, StatusBuilding())
        for i in range(20)
    ))
    assert sorted(r.version for r in results) == list(range(1, 21))
    last = max(results, key=lambda r: r.version)
    stored = await store.get("hello")
    assert stored == last
    assert stored.version == 20
    # Each returned record is one whole update, never a mix of two.
    for r in results:
        i = r.code.removeprefix("code ")
        assert (r.description, r.dependencies) == (f"d{i}", [f"dep{i}"])


async def test_ping(store: Store) -> None:
    await store.ping()


# --- Redis ------------------------------------------------------------------------------------

@pytest.mark.redis
async def test_redis_hash_is_plain_and_readable(redis_store: RedisStore, redis_url: str) -> None:
    await redis_store.create(record(status=READY, dependencies=["x"], description=None))
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        fields = await client.hgetall("tinirun:fn:hello")
        index = await client.zrange(keys.FUNCTION_INDEX, 0, -1)
    finally:
        await client.aclose()
    assert fields == {
        "lang": "python", "code": "print('hi')", "dependencies": '["x"]',
        "status": fields["status"], "created_at": T0, "updated_at": T0, "version": "0",
    }
    assert json.loads(fields["status"]) == READY_JSON
    assert index == ["hello"]


@pytest.mark.redis
async def test_redis_down_fails_fast_and_recovers(redis_server: RedisServer) -> None:
    store = RedisStore.from_url(redis_server.url)
    try:
        await store.create(record())
        redis_server.stop()
        calls = [lambda: store.get("hello"), lambda: store.create(record("x")), store.count]
        for call in calls:
            started = time.monotonic()
            with pytest.raises(StoreUnavailableError, match="Function store unavailable"):
                await call()
            assert time.monotonic() - started < 3
        redis_server.start()  # same port, empty data: the store object is reused as it is
        await store.ping()
        assert await store.get("hello") is None
        await store.create(record())  # a script again, after the server forgot it
        updated = await store.update_code("hello", "v2", None, [], T1, StatusBuilding())
        assert updated.version == 1
    finally:
        await store.close()


@pytest.mark.redis
async def test_redis_store_starts_while_redis_is_down() -> None:
    from tests.conftest import free_port

    store = await open_store(f"redis://127.0.0.1:{free_port()}/0", Path("/nonexistent"))
    try:
        assert isinstance(store, RedisStore)
        with pytest.raises(StoreUnavailableError, match="cannot reach Redis at 127.0.0.1:"):
            await store.ping()
    finally:
        await store.close()


# --- SQLite -----------------------------------------------------------------------------------

async def test_sqlite_file_wal_and_persistence(tmp_path: Path) -> None:
    data_dir = tmp_path / "a" / "b"
    store = await open_store(None, data_dir)
    try:
        assert isinstance(store, SqliteStore)
        await store.create(record(status=READY))
    finally:
        await store.close()
    path = data_dir / "functions.sqlite3"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert json.loads(conn.execute("SELECT status FROM functions").fetchone()[0]) == READY_JSON
    conn.close()
    reopened = await SqliteStore.open(data_dir)
    try:
        assert await reopened.get("hello") == record(status=READY)
    finally:
        await reopened.close()


async def test_sqlite_unusable_directory_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailableError, match="Function store unavailable"):
        await SqliteStore.open(blocker / "data")
