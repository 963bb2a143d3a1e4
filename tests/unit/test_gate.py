"""The bounded queue in front of the containers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import pytest

from tests.wait import async_wait_until
from tinirun.errors import BusyError
from tinirun.models import Chunk, RunResult
from tinirun.runner.gate import STOPPED, Gate, Slot


async def job(release: asyncio.Event, name: str) -> AsyncIterator[Chunk]:
    await release.wait()
    yield Chunk.info(name)


async def collect(stream: AsyncIterator[Chunk]) -> list[str]:
    return [str(c.data) async for c in stream]


async def test_runs_beyond_the_slots_wait_and_hear_their_place() -> None:
    gate = Gate(slots=1, queue_size=5)
    release = asyncio.Event()
    first = asyncio.create_task(collect(gate.stream(job(release, "a"))))
    await async_wait_until(lambda: gate.running == 1, "the first run in its slot")
    second = asyncio.create_task(collect(gate.stream(job(release, "b"))))
    await async_wait_until(lambda: gate.waiting == 1, "the second run queued")
    assert gate.running == 1 and gate.waiting == 1
    release.set()
    assert await first == ["a"]
    assert await second == ["Waiting in queue: position 1", "b"]
    assert gate.running == 0 and gate.waiting == 0


async def test_full_queue_is_refused_with_retry_after() -> None:
    gate = Gate(slots=1, queue_size=1)
    release = asyncio.Event()
    tasks = [asyncio.create_task(collect(gate.stream(job(release, str(i))))) for i in range(2)]
    await async_wait_until(lambda: gate.running == 1 and gate.waiting == 1, "slot and queue full")
    with pytest.raises(BusyError) as info:
        gate.check()
    assert info.value.retry_after >= 1
    release.set()
    await asyncio.gather(*tasks)
    gate.check()


async def test_leaving_the_queue_frees_the_place() -> None:
    gate = Gate(slots=1, queue_size=5)
    release = asyncio.Event()
    running = asyncio.create_task(collect(gate.stream(job(release, "a"))))
    await async_wait_until(lambda: gate.running == 1, "the first run in its slot")
    waiting = asyncio.create_task(collect(gate.stream(job(release, "b"))))
    await async_wait_until(lambda: gate.waiting == 1, "the second run queued")
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert gate.waiting == 0
    release.set()
    assert await running == ["a"]
    assert gate.running == 0



async def test_a_client_that_hangs_up_while_queued_leaves_the_line_at_once() -> None:
    gate = Gate(slots=1, queue_size=5)
    release = asyncio.Event()
    running = asyncio.create_task(collect(gate.stream(job(release, "a"))))
    await async_wait_until(lambda: gate.running == 1, "the first run in its slot")
    waiting = gate.stream(job(release, "b"))
    assert isinstance(waiting, AsyncGenerator)
    assert (await waiting.__anext__()).data == "Waiting in queue: position 1"
    await waiting.aclose()  # the response ends between two chunks: the client hung up
    assert gate.waiting == 0
    release.set()
    assert await running == ["a"]
    assert gate.running == 0

async def test_stop_ends_running_and_waiting_runs_with_an_error() -> None:
    gate = Gate(slots=1, queue_size=5)
    release = asyncio.Event()

    async def events(stream: AsyncIterator[Chunk]) -> list[str]:
        return [c.event.value for c in [c async for c in stream]]

    async def run(release: asyncio.Event) -> AsyncIterator[Chunk]:
        await release.wait()
        yield Chunk.result(RunResult(stdout="", stderr="", exit_code=137, timeout=False))

    running = asyncio.create_task(events(gate.stream(run(release))))
    await async_wait_until(lambda: gate.running == 1, "the first run in its slot")
    waiting = asyncio.create_task(collect(gate.stream(job(release, "b"))))
    await async_wait_until(lambda: gate.waiting == 1, "the second run queued")
    gate.stop()
    release.set()  # the running one ends (as its container is removed)
    assert await running == ["error"]
    assert STOPPED in (await waiting)[-1]
    assert gate.running == 0 and gate.waiting == 0
    assert await events(gate.stream(job(release, "c"))) == ["error"]


async def test_a_slot_freed_by_its_run_lets_the_next_in_while_its_stream_goes_on() -> None:
    """The run frees its slot when its container ends; its stream (a slow client) may go on."""
    gate = Gate(slots=1, queue_size=5)
    slot = Slot()
    ended = asyncio.Event()

    async def first_run() -> AsyncIterator[Chunk]:
        yield Chunk.info("output")
        slot.free()  # the container has ended
        await ended.wait()  # the client has not read the rest yet
        yield Chunk.info("rest")

    first = gate.stream(first_run(), slot)
    assert (await anext(first)).data == "output"

    async def rest() -> Chunk:
        return await anext(first)

    pending = asyncio.create_task(rest())
    second = await asyncio.wait_for(collect(gate.stream(_now("b"))), 10)
    assert second == ["b"] and gate.running == 0
    ended.set()
    assert (await pending).data == "rest"
    assert gate.running == 0


async def test_a_run_whose_container_is_still_going_keeps_its_slot_until_it_is_gone() -> None:
    """A run that ends while its container still exits (its removal waits for the stop) gives
    its slot back when the removal is done, not when its stream ends: a program that outlives
    its own result never runs beside the next run."""
    gate = Gate(slots=1, queue_size=5)
    slot = Slot()
    removal: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def run() -> AsyncIterator[Chunk]:
        yield Chunk.info("result")
        slot.free(removal)  # what the run's container tells it as the run ends

    assert await collect(gate.stream(run(), slot)) == ["result"]
    assert gate.running == 1  # the stream has ended; the container is not gone yet
    second = asyncio.create_task(collect(gate.stream(_now("b"))))
    await async_wait_until(lambda: gate.waiting == 1, "the next run waiting")
    removal.set_result(None)
    assert await asyncio.wait_for(second, 10) == ["Waiting in queue: position 1", "b"]
    assert gate.running == 0


async def _now(name: str) -> AsyncIterator[Chunk]:
    yield Chunk.info(name)
