"""Fixtures of the store contract suite: a `store` of each back end, and real Redis servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tinirun.store import keys
from tinirun.store.base import Store
from tinirun.store.redis import RedisStore
from tinirun.store.sqlite import SqliteStore


async def flush_tinirun_keys(url: str) -> None:
    """Delete the store's keys only, so a shared Redis keeps everything else."""
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        found = [key async for key in client.scan_iter(match=keys.ALL_KEYS_PATTERN)]
        if found:
            await client.delete(*found)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[RedisStore]:
    await flush_tinirun_keys(redis_url)
    store = RedisStore.from_url(redis_url)
    try:
        yield store
    finally:
        await store.close()
        await flush_tinirun_keys(redis_url)


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(tmp_path / "data")
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest) -> Store:
    """Each back end in turn; the contract tests run against both. Sync on purpose:
    getfixturevalue cannot run an async fixture from inside the running event loop."""
    fixture = "sqlite_store" if request.param == "sqlite" else "redis_store"
    backend: Store = request.getfixturevalue(fixture)
    return backend
