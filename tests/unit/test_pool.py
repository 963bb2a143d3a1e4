"""The warm pool's bookkeeping, with a fake engine at the thin seam (start/remove)."""

from __future__ import annotations

import asyncio
from typing import Any

from tinirun.runner.pool import PoolSettings, WarmPool

MB = 1024 * 1024


class FakeAttached:
    def __init__(self, config: dict[str, Any], alive: bool = True) -> None:
        self.config = config
        self.memory = int(config["HostConfig"]["Memory"])
        self.alive = alive
        self.discarded = False
        self.id = f"c{id(self)}"

    def discard(self) -> None:
        self.discarded = True


class FakeEngine:
    def __init__(self) -> None:
        self.started: list[FakeAttached] = []
        self.removed: list[str] = []

    async def start(self, config: dict[str, Any]) -> FakeAttached:
        attached = FakeAttached(config)
        self.started.append(attached)
        return attached

    async def remove_container(self, container_id: str) -> None:
        self.removed.append(container_id)


def config(memory_mb: int = 256) -> dict[str, Any]:
    return {"HostConfig": {"Memory": memory_mb * MB}}


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_fills_to_size_and_refills_after_take() -> None:
    engine = FakeEngine()
    pool = WarmPool(engine, PoolSettings(size=2))  # type: ignore[arg-type]
    pool.want("img", config)
    await settle()
    assert pool.idle_count("img") == 2
    taken = pool.take("img")
    assert taken is not None
    await settle()
    assert pool.idle_count("img") == 2 and len(engine.started) == 3


async def test_dead_waiting_containers_are_never_handed_out() -> None:
    engine = FakeEngine()
    pool = WarmPool(engine, PoolSettings(size=1))  # type: ignore[arg-type]
    pool.want("img", config)
    await settle()
    engine.started[0].alive = False
    assert pool.take("img") is None
    assert engine.started[0].discarded


async def test_memory_cap_retires_the_least_recently_used_pool() -> None:
    engine = FakeEngine()
    pool = WarmPool(engine, PoolSettings(size=2, max_memory_mb=1024))  # type: ignore[arg-type]
    pool.want("old", config)
    pool.want("older", config)
    await settle()
    assert pool.idle_count() == 4  # the cap: 4 x 256 MiB
    await asyncio.sleep(0.01)
    pool.want("new", config)
    await settle()
    # The image asked for now gets its containers; the least recently used gave them up.
    assert pool.idle_count("new") == 2
    assert pool.idle_count("old") == 0 and pool.idle_count("older") == 2
    assert pool.idle_count() == 4


async def test_cap_does_not_evict_a_pool_used_more_recently() -> None:
    engine = FakeEngine()
    pool = WarmPool(engine, PoolSettings(size=2, max_memory_mb=512))  # type: ignore[arg-type]
    pool.want("a", config)
    await settle()
    pool.want("b", config)  # b is newer than a: a is evicted for it
    await settle()
    assert pool.idle_count("b") == 2 and pool.idle_count("a") == 0
    pool.take("b")  # b is used again: refilling b must not evict anything newer
    await settle()
    assert pool.idle_count() <= 2


async def test_pool_off_keeps_nothing() -> None:
    engine = FakeEngine()
    pool = WarmPool(engine, PoolSettings(size=0))  # type: ignore[arg-type]
    pool.want("img", config)
    await settle()
    assert pool.take("img") is None and engine.started == []


async def test_retire_idle_and_forget() -> None:
    engine = FakeEngine()
    pool = WarmPool(engine, PoolSettings(size=1, idle_seconds=0.0))  # type: ignore[arg-type]
    pool.want("img", config)
    await settle()
    await asyncio.sleep(0.01)
    assert pool.retire_idle() == 1
    pool.want("img2", config)
    await settle()
    await pool.forget("img2")
    assert len(engine.removed) == 1 and pool.idle_count() == 0


async def test_forget_waits_for_a_refill_in_flight_and_removes_its_container() -> None:
    """Removing a function's old image needs every container of it gone: a container that a
    refill was still starting when the pool was forgotten is removed by `forget` itself."""
    engine = FakeEngine()
    gate = asyncio.Event()
    plain_start = engine.start

    async def slow_start(cfg: dict[str, Any]) -> FakeAttached:
        await gate.wait()
        return await plain_start(cfg)

    engine.start = slow_start  # type: ignore[method-assign,assignment]
    pool = WarmPool(engine, PoolSettings(size=1))  # type: ignore[arg-type]
    pool.want("old", config)
    await settle()
    forgetting = asyncio.create_task(pool.forget("old"))
    await settle()
    assert not forgetting.done()  # the refill is still making its container
    gate.set()
    await asyncio.wait_for(forgetting, 10)
    assert [a.id for a in engine.started] == engine.removed
    assert not any(a.discarded for a in engine.started)
