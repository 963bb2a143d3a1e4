"""The Redis back end: one hash per function plus a sorted set of names (see `keys`)."""

from __future__ import annotations

import builtins
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse
from redis.exceptions import TimeoutError as RedisTimeoutError

from tinirun.errors import FunctionExistsError, NotFoundError, StoreUnavailableError
from tinirun.function_models import FunctionStatus, dump_status, load_status
from tinirun.store import keys
from tinirun.store.base import FunctionRecord

# Short timeouts so a down or unreachable Redis fails a request in seconds, not minutes.
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 2.0

# KEYS: fn hash, index. ARGV: name, then field/value pairs.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"""

# KEYS: fn hash. ARGV: code, dependencies, status, updated_at, has_description, description.
_UPDATE_CODE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'code', ARGV[1], 'dependencies', ARGV[2], 'status', ARGV[3],
           'updated_at', ARGV[4])
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'description', ARGV[6])
else
  redis.call('HDEL', KEYS[1], 'description')
end
redis.call('HINCRBY', KEYS[1], 'version', 1)
return redis.call('HGETALL', KEYS[1])
"""

# KEYS: fn hash. ARGV: status, expected version ('' for any).
_SET_STATUS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'version') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
return 1
"""

# KEYS: fn hash, index. ARGV: name.
_DELETE = """
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n
"""


def _encode(record: FunctionRecord) -> dict[str, str]:
    """The hash fields of `record`; a None description is left out."""
    fields = {
        keys.F_LANG: record.lang,
        keys.F_CODE: record.code,
        keys.F_DEPENDENCIES: json.dumps(record.dependencies),
        keys.F_STATUS: dump_status(record.status),
        keys.F_CREATED_AT: record.created_at,
        keys.F_UPDATED_AT: record.updated_at,
        keys.F_VERSION: str(record.version),
    }
    if record.description is not None:
        fields[keys.F_DESCRIPTION] = record.description
    return fields


def _decode(name: str, fields: dict[str, str]) -> FunctionRecord:
    return FunctionRecord(
        name=name,
        lang=fields[keys.F_LANG],
        code=fields[keys.F_CODE],
        status=load_status(fields[keys.F_STATUS]),
        created_at=fields[keys.F_CREATED_AT],
        updated_at=fields[keys.F_UPDATED_AT],
        version=int(fields[keys.F_VERSION]),
        description=fields.get(keys.F_DESCRIPTION),
        dependencies=json.loads(fields[keys.F_DEPENDENCIES]),
    )


class RedisStore:
    """Function records in Redis. Construction does not connect; every call does, so the
    store works as soon as Redis is reachable and raises StoreUnavailableError until then."""

    def __init__(self, client: aioredis.Redis, where: str) -> None:
        self._client = client
        self._where = where
        self._create = client.register_script(_CREATE)
        self._update_code = client.register_script(_UPDATE_CODE)
        self._set_status = client.register_script(_SET_STATUS)
        self._delete = client.register_script(_DELETE)

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """A store on the Redis at `url` (redis://, rediss:// or unix://); no I/O here."""
        client = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=READ_TIMEOUT_S,
            # No retries: a retried script could apply twice (version + 2); the pool already
            # replaces dead connections before each command, which is how it recovers.
            retry=Retry(NoBackoff(), 0),
        )
        kwargs = client.connection_pool.connection_kwargs
        # host:port or socket path, never the URL itself (it may carry a password).
        host, port = kwargs.get("host", "localhost"), kwargs.get("port") or 6379
        where = kwargs.get("path") or f"{host}:{port}"
        return cls(client, str(where))

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        """Turn every way of not reaching Redis into StoreUnavailableError."""
        try:
            yield
        # The built-in TimeoutError (asyncio's too) is an OSError; InvalidResponse is what a
        # URL pointing at something that is not Redis gives.
        except (RedisConnectionError, RedisTimeoutError, InvalidResponse, OSError) as exc:
            detail = str(exc) or type(exc).__name__
            raise StoreUnavailableError(
                f"Function store unavailable: cannot reach Redis at {self._where}: {detail}"
            ) from exc

    async def ping(self) -> None:
        async with self._guard():
            await self._client.ping()

    async def create(self, record: FunctionRecord) -> None:
        args: list[str] = [record.name]
        for field, value in _encode(record).items():
            args += [field, value]
        async with self._guard():
            created = await self._create(
                keys=[keys.function_key(record.name), keys.FUNCTION_INDEX], args=args
            )
        if not created:
            raise FunctionExistsError("Function already exists")

    async def get(self, name: str) -> FunctionRecord | None:
        async with self._guard():
            # decode_responses=True: redis-py's bytes-or-str types are str here.
            fields = cast(dict[str, str], await self._client.hgetall(keys.function_key(name)))
        return _decode(name, fields) if fields else None

    async def list(self, offset: int = 0, limit: int | None = None) -> list[FunctionRecord]:
        start = max(offset, 0)
        if limit is not None and limit <= 0:
            return []
        stop = -1 if limit is None else start + limit - 1
        async with self._guard():
            names = cast(
                builtins.list[str], await self._client.zrange(keys.FUNCTION_INDEX, start, stop)
            )
            if not names:
                return []
            async with self._client.pipeline(transaction=True) as pipe:
                for name in names:
                    pipe.hgetall(keys.function_key(name))
                hashes = cast(builtins.list[dict[str, str]], await pipe.execute())
        # A name whose hash is gone was deleted between the two round trips.
        return [_decode(n, h) for n, h in zip(names, hashes, strict=True) if h]

    async def count(self) -> int:
        async with self._guard():
            return int(await self._client.zcard(keys.FUNCTION_INDEX))

    async def update_code(
        self, name: str, code: str, description: str | None, dependencies: builtins.list[str],
        updated_at: str, status: FunctionStatus,
    ) -> FunctionRecord:
        args = [
            code, json.dumps(dependencies), dump_status(status), updated_at,
            "0" if description is None else "1", description or "",
        ]
        async with self._guard():
            flat: builtins.list[str] | None = await self._update_code(
                keys=[keys.function_key(name)], args=args
            )
        if flat is None:
            raise NotFoundError("Not Found")
        return _decode(name, dict(zip(flat[::2], flat[1::2], strict=True)))

    async def set_status(
        self, name: str, status: FunctionStatus, version: int | None = None
    ) -> bool:
        args = [dump_status(status), "" if version is None else str(version)]
        async with self._guard():
            applied = await self._set_status(keys=[keys.function_key(name)], args=args)
        return bool(applied)

    async def delete(self, name: str) -> bool:
        async with self._guard():
            removed = await self._delete(
                keys=[keys.function_key(name), keys.FUNCTION_INDEX], args=[name]
            )
        return bool(removed)

    async def close(self) -> None:
        await self._client.aclose()
