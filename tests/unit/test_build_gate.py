"""The build gate: N builds at once, the next ones told their place, 429 past the queue."""

from __future__ import annotations

import asyncio

import pytest

from tinirun.errors import BusyError
from tinirun.runner.gate import BuildGate


async def _hold(gate: BuildGate, seen: list[str], release: asyncio.Event) -> None:
    async for chunk in gate.wait():
        seen.append(str(chunk.data))
    try:
        await release.wait()
    finally:
        gate.release()


async def _settle() -> None:
    """Let the tasks run up to their next wait (no I/O here: a few loop turns suffice)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_builds_wait_for_a_slot_and_get_it_in_order() -> None:
    gate = BuildGate(slots=1, queue_size=1)
    first, second = asyncio.Event(), asyncio.Event()
    seen_a: list[str] = []
    seen_b: list[str] = []
    a = asyncio.create_task(_hold(gate, seen_a, first))
    await asyncio.sleep(0)
    b = asyncio.create_task(_hold(gate, seen_b, second))
    await _settle()
    assert seen_a == [] and seen_b == ["Waiting for a build slot: position 1"]
    with pytest.raises(BusyError, match="1 image builds in progress and 1 waiting"):
        gate.check()
    first.set()
    await a
    assert gate.running == 1 and gate.waiting == 0  # the slot passed straight to b
    second.set()
    await b
    assert gate.running == 0


async def test_leaving_the_queue_gives_up_the_place() -> None:
    gate = BuildGate(slots=1, queue_size=4)
    hold = asyncio.Event()
    a = asyncio.create_task(_hold(gate, [], hold))
    await asyncio.sleep(0)
    b = asyncio.create_task(_hold(gate, [], asyncio.Event()))
    await _settle()
    b.cancel()
    with pytest.raises(asyncio.CancelledError):
        await b
    assert gate.waiting == 0
    hold.set()
    await a
    assert gate.running == 0
