"""Images shared through the cluster's registry: a function or dependency image is built on
one node (the holder of a Redis lock), pushed, and pulled by every other node on first use.
Runtime images stay per node (each builds or pulls its own)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tinirun.cluster import keys
from tinirun.engine.docker import Engine
from tinirun.errors import EngineError
from tinirun.models import Chunk
from tinirun.runner.runtimes import ImageProgress, ImageReady

log = logging.getLogger(__name__)

# A build holds the lock this long and renews it while it goes on; a node that dies while
# building lets another take over after this.
LOCK_SECONDS = 30
LOCK_POLL = 0.5
# Compare-and-delete: release a lock only if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RegistryImages:
    """The `SharedImages` of a cluster node."""

    def __init__(self, engine: Engine, redis: aioredis.Redis, registry: str) -> None:
        self.engine = engine
        self.redis = redis
        self.registry = registry.rstrip("/")
        self._release = redis.register_script(_RELEASE)

    def remote(self, tag: str) -> str:
        """The registry's name of `tag` (function images are named there already)."""
        return tag if tag.startswith(self.registry + "/") else f"{self.registry}/{tag}"

    async def _pull(self, tag: str) -> AsyncIterator[str]:
        remote = self.remote(tag)
        async for line in self.engine.pull(remote):
            yield line
        if remote != tag:
            repo, _, version = tag.rpartition(":")
            await self.engine.tag(remote, repo, version)

    async def fetch(self, tag: str) -> bool:
        if await self.engine.image_id(tag):
            return True
        try:
            if not await self.engine.in_registry(self.remote(tag)):
                return False
            async for _ in self._pull(tag):
                pass
        except EngineError as exc:
            log.warning("pull of %s failed: %s", tag, exc)
            raise
        return True

    async def exists(self, tag: str) -> bool:
        try:
            return await self.engine.in_registry(self.remote(tag))
        except EngineError:
            return True  # the registry cannot say: keep the function's status as it is

    async def once(self, tag: str, build: Callable[[], AsyncIterator[ImageProgress]]
                   ) -> AsyncIterator[ImageProgress]:
        remote = self.remote(tag)
        if await self.engine.in_registry(remote):
            async for item in self._pulled(tag):
                yield item
            return
        token = uuid.uuid4().hex
        said = False
        while True:
            try:
                got = await self.redis.set(keys.lock(tag), token, nx=True, ex=LOCK_SECONDS)
            except RedisError as exc:
                raise EngineError(f"Cannot reach the cluster's Redis to build {tag}: {exc}") \
                    from exc
            if got:
                break
            if not said:
                yield Chunk.info("Another node is building this image; waiting for it...")
                said = True
            await asyncio.sleep(LOCK_POLL)
            if await self.engine.in_registry(remote):
                async for item in self._pulled(tag):
                    yield item
                return
        renew = asyncio.create_task(self._renew(tag, token))
        try:
            if await self.engine.in_registry(remote):  # finished while we waited for the lock
                async for item in self._pulled(tag):
                    yield item
                return
            async for item in build():
                if isinstance(item, ImageReady):
                    continue
                yield item
            yield Chunk.info("Pushing the image to the cluster's registry...")
            if remote != tag:
                repo, _, version = remote.rpartition(":")
                await self.engine.tag(tag, repo, version)
            async for line in self.engine.push(remote):
                yield Chunk.debug(line)
            yield ImageReady(tag)
        finally:
            renew.cancel()
            with contextlib.suppress(RedisError):  # else it expires
                await self._release(keys=[keys.lock(tag)], args=[token])

    async def _pulled(self, tag: str) -> AsyncIterator[ImageProgress]:
        if not await self.engine.image_id(tag):
            yield Chunk.info("Pulling the image another node built...")
            async for line in self._pull(tag):
                yield Chunk.debug(line)
        yield ImageReady(tag)

    async def _renew(self, tag: str, token: str) -> None:
        while True:
            await asyncio.sleep(LOCK_SECONDS / 3)
            with contextlib.suppress(RedisError):
                if await self.redis.get(keys.lock(tag)) == token:
                    await self.redis.expire(keys.lock(tag), LOCK_SECONDS)
