"""The warm pool: containers created and started ahead of demand, with the run's isolation,
waiting for their input on stdin. A run takes one, feeds it, and it is removed after that
single use — never reused.

One pool per image (a runtime, a dependency image or a function image). Each is refilled in
the background up to its size; the idle containers of all pools together never reserve more
than `max_memory_mb` of memory limits; a pool not used for `idle_seconds` is retired.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tinirun.engine.docker import Attached, Engine
from tinirun.errors import EngineError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoolSettings:
    """How many containers wait, and for how long."""

    size: int = 2
    max_memory_mb: int = 4096
    idle_seconds: float = 600.0


@dataclass
class _ImagePool:
    """The waiting containers of one image, and how to make another."""

    make_config: Callable[[], dict[str, Any]]
    size: int
    memory_mb: int
    idle: list[Attached] = field(default_factory=list)
    filling: int = 0
    # Containers being made for this pool; `forget` waits for them, so that none appears
    # after it returns (an image cannot be removed while a container of it exists).
    fills: set[asyncio.Task[None]] = field(default_factory=set)
    forgotten: bool = False
    last_used: float = field(default_factory=time.monotonic)


class WarmPool:
    """Containers waiting per image; `take` hands one out, the pool refills behind it."""

    def __init__(self, engine: Engine, settings: PoolSettings) -> None:
        self.engine = engine
        self.settings = settings
        self._pools: dict[str, _ImagePool] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def enabled(self) -> bool:
        return self.settings.size > 0

    def idle_count(self, image: str | None = None) -> int:
        pools = [self._pools[image]] if image in self._pools else (
            [] if image is not None else list(self._pools.values()))
        return sum(len(p.idle) for p in pools)

    def idle_by_image(self) -> dict[str, int]:
        """Waiting containers per image (for the metrics)."""
        return {image: len(pool.idle) for image, pool in self._pools.items()}

    def _reserved_mb(self) -> int:
        """Memory limits of the idle containers and of those being made."""
        return sum((len(p.idle) + p.filling) * p.memory_mb for p in self._pools.values())

    def want(self, image: str, make_config: Callable[[], dict[str, Any]],
             size: int | None = None) -> None:
        """Keep `size` (default: the pool size) containers of `image` waiting."""
        if not self.enabled or self._closed:
            return
        pool = self._pools.get(image)
        if pool is None:
            memory_mb = int(make_config()["HostConfig"]["Memory"]) // (1024 * 1024)
            pool = self._pools[image] = _ImagePool(make_config, size or self.settings.size,
                                                   memory_mb)
        pool.last_used = time.monotonic()
        self._fill(image, pool)

    def take(self, image: str) -> Attached | None:
        """A waiting container of `image`, or None (the caller starts a fresh one)."""
        pool = self._pools.get(image)
        if pool is None:
            return None
        pool.last_used = time.monotonic()
        attached = None
        while pool.idle and attached is None:
            attached = pool.idle.pop()
            if not attached.alive:  # killed while it waited (e.g. the engine restarted)
                attached.discard()
                attached = None
        self._fill(image, pool)
        return attached

    def _fill(self, image: str, pool: _ImagePool) -> None:
        missing = pool.size - len(pool.idle) - pool.filling
        for _ in range(max(0, missing)):
            if not self._make_room(pool):
                return
            pool.filling += 1
            task = asyncio.create_task(self._add(image, pool, pool.make_config()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            pool.fills.add(task)
            task.add_done_callback(pool.fills.discard)

    def _make_room(self, pool: _ImagePool) -> bool:
        """Whether one more container of `pool` fits under the memory cap, after retiring
        waiting containers of the pools used least recently if need be: the image asked for
        now wins over images not asked for lately."""
        while self._reserved_mb() + pool.memory_mb > self.settings.max_memory_mb:
            others = [p for p in self._pools.values() if p is not pool and p.idle]
            if not others:
                return False
            stale = min(others, key=lambda p: p.last_used)
            if stale.last_used > pool.last_used:
                return False
            stale.idle.pop(0).discard()
        return True

    async def _add(self, image: str, pool: _ImagePool, config: dict[str, Any]) -> None:
        try:
            attached = await self.engine.start(config)
        except EngineError as exc:
            log.info("warm container for %s not made: %s", image, exc)
            return
        finally:
            pool.filling -= 1
        if pool.forgotten:
            pool.idle.append(attached)  # `forget` is waiting for it, to remove it itself
        elif self._closed or self._pools.get(image) is not pool:
            attached.discard()
        else:
            pool.idle.append(attached)

    def retire_idle(self) -> int:
        """Drop the pools of images not used for `idle_seconds`; return containers removed."""
        now = time.monotonic()
        removed = 0
        for image, pool in list(self._pools.items()):
            if now - pool.last_used > self.settings.idle_seconds:
                del self._pools[image]
                for attached in pool.idle:
                    attached.discard()
                    removed += 1
        return removed

    async def forget(self, image: str) -> None:
        """Stop keeping containers of `image` and remove those waiting, also those still being
        made when it is called: once it returns, no container of the pool is left, and the
        image itself can be removed."""
        pool = self._pools.pop(image, None)
        if pool is not None:
            pool.forgotten = True
            await asyncio.gather(*pool.fills, return_exceptions=True)
            await asyncio.gather(*(self.engine.remove_container(a.id) for a in pool.idle))
            pool.idle.clear()

    async def close(self) -> None:
        """Remove every waiting container."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for image in list(self._pools):
            await self.forget(image)
