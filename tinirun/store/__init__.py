"""Function metadata: one interface (`base.Store`), two back ends (Redis, embedded SQLite)."""

from __future__ import annotations

from pathlib import Path

from tinirun.store.base import FunctionRecord, Store
from tinirun.store.sqlite import SqliteStore

__all__ = ["FunctionRecord", "SqliteStore", "Store", "open_store"]


async def open_store(redis_url: str | None, data_dir: Path) -> Store:
    """Redis when `redis_url` is set, else SQLite in `data_dir`.

    The Redis store is not contacted here, so the service starts while Redis is down; its
    calls raise StoreUnavailableError until Redis answers. SQLite opens (and may raise
    StoreUnavailableError) now, since a data directory that cannot be used will not heal.
    """
    if redis_url:
        from tinirun.store.redis import RedisStore  # Redis is imported only when it is used

        return RedisStore.from_url(redis_url)
    return await SqliteStore.open(data_dir)
