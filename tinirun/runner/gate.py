"""A bounded queue in front of the containers: at most `slots` runs at once, at most
`queue_size` waiting; beyond that, BusyError (HTTP 429 with Retry-After)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

from tinirun.errors import BusyError, ServiceStoppingError
from tinirun.failures import error_data
from tinirun.metrics import Metrics
from tinirun.models import Chunk, ChunkEvent

# How often a waiting run re-checks its place to tell the client.
POSITION_INTERVAL = 0.5
STOPPED = "The service is shutting down: the run was stopped before it ended"


class Slot:
    """A run's hold on one of the gate's slots, given back once: by the run as soon as its
    container has ended (`free`, e.g. from the engine's exit callback), else by the gate when
    the run's stream ends. So a client that reads slowly, or not at all, delays only its own
    stream, never the next run.

    A run whose container may still be exiting when its stream ends (its removal waits for
    the engine to report the stop) frees it with `after`, done once the container no longer
    runs: so a program that outlives its own result (a forged trailer) runs in its slot, never
    beside the next run's."""

    def __init__(self) -> None:
        self._give_back: Callable[[], None] | None = None
        self._after: asyncio.Future[Any] | None = None
        self.freed = False

    def hold(self, give_back: Callable[[], None]) -> None:
        self._give_back = give_back

    def free(self, after: asyncio.Future[Any] | None = None) -> None:
        if after is not None and not after.done():
            self._after = after
            after.add_done_callback(lambda _: self._give())
        elif self._after is None or self._after.done():
            self._give()

    def _give(self) -> None:
        if self._give_back is not None and not self.freed:
            self.freed = True
            self._give_back()


class _Stopped(Exception):
    """The service began to stop while a run waited in line."""


class _Line:
    """Those waiting for a slot, first come first served; a freed slot passes straight to the
    next in line, so nobody can overtake the queue between a release and a wake-up."""

    def __init__(self) -> None:
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def __len__(self) -> int:
        return len(self._waiters)

    def hand_on(self) -> bool:
        """Give a freed slot to the next in line; False when nobody waits for it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return True
        return False

    async def wait(self, what: str, release: Callable[[], None],
                   stopping: Callable[[], bool] = lambda: False) -> AsyncGenerator[Chunk, None]:
        """Yield `info` chunks with the place in line until a slot is handed on (then return,
        holding it). Leaving while queued gives up the place, or hands on (`release`) a slot
        already given; `_Stopped` when `stopping()` turns true first."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            last = 0
            while not waiter.done():
                if stopping():
                    raise _Stopped
                place = self._waiters.index(waiter) + 1
                if place != last:
                    yield Chunk.info(f"{what}: position {place}")
                    last = place
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(waiter), POSITION_INTERVAL)
        except BaseException:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            if waiter.done() and not waiter.cancelled():
                release()
            else:
                waiter.cancel()
            raise


class Gate:
    """Admission control shared by every kind of run."""

    def __init__(self, slots: int, queue_size: int, metrics: Metrics | None = None) -> None:
        self.slots = slots
        self.queue_size = queue_size
        self.metrics = metrics or Metrics()
        self.running = 0
        self.stopping = False
        self._line = _Line()
        self._freed = asyncio.Event()

    def stop(self) -> None:
        """The service is stopping: runs still going (their containers are being removed) and
        runs still waiting end with a `docker` error that says so."""
        self.stopping = True

    @property
    def waiting(self) -> int:
        return len(self._line)

    def check(self) -> None:
        """Refuse at once when no slot is free and the queue is full."""
        if self.running >= self.slots and self.waiting >= self.queue_size:
            self.metrics.record_rejected()
            raise BusyError(
                f"Busy: {self.running} runs in progress and {self.waiting} waiting",
                retry_after=max(1, self.waiting // max(1, self.slots)),
            )

    def try_take(self) -> bool:
        """Take a slot if one is free and nobody waits here (the cluster's hook: a node takes
        queued work only when it has room); hand it to `stream(..., held=True)` or `give_back`."""
        if self.stopping or self.running >= self.slots or self.waiting:
            return False
        self.running += 1
        return True

    def give_back(self) -> None:
        """Return a slot taken with `try_take` that ran nothing."""
        self._release()

    async def wait_free(self, seconds: float) -> None:
        """Return when a slot may have been freed, or after `seconds`."""
        self._freed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._freed.wait(), seconds)

    def _release(self) -> None:
        if not self._line.hand_on():
            self.running -= 1
            self._freed.set()

    async def stream(self, chunks: AsyncIterator[Chunk], slot: Slot | None = None,
                     held: bool = False) -> AsyncIterator[Chunk]:
        """`chunks`, once a slot is free; `info` chunks tell a waiting client its place.
        Callers `check()` first, while they can still answer 429. `slot` is the one the run
        frees when its container ends (its stream may go on after that). `held`: the caller
        already holds a slot (`try_take`), which `slot` gives back."""
        slot = slot or Slot()
        asked = time.monotonic()
        if held:
            slot.hold(self._release)
        elif self.running < self.slots and not self.waiting:
            self.running += 1
            slot.hold(self._release)
        else:
            try:
                # aclosing: a client that hangs up while queued closes this generator at the
                # yield below, and the line's own generator must leave the line at once too.
                places = self._line.wait("Waiting in queue", self._release, lambda: self.stopping)
                async with contextlib.aclosing(places):
                    async for info in places:
                        yield info
            except _Stopped:
                await _aclose(chunks)
                yield _stopped()
                return
            slot.hold(self._release)
        self.metrics.record_queue_wait(time.monotonic() - asked)
        try:
            if self.stopping:
                yield _stopped()
                return
            async for chunk in chunks:
                if self.stopping and chunk.event in (ChunkEvent.RESULT, ChunkEvent.ERROR):
                    chunk = _stopped()  # the end of a run cut short, not the program's own
                yield chunk
        finally:
            slot.free()
            await _aclose(chunks)


def _stopped() -> Chunk:
    return Chunk.error(error_data(ServiceStoppingError(STOPPED)))


async def _aclose(chunks: AsyncIterator[Chunk]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()


class BuildGate:
    """At most `slots` image builds at once, at most `queue_size` waiting (429 beyond, at
    admission). A build waits for its slot in `wait()`, which tells its place, and gives it
    back with `release()`."""

    def __init__(self, slots: int, queue_size: int) -> None:
        self.slots = slots
        self.queue_size = queue_size
        self.running = 0
        self._line = _Line()

    @property
    def waiting(self) -> int:
        return len(self._line)

    def check(self) -> None:
        if self.running >= self.slots and self.waiting >= self.queue_size:
            raise BusyError(
                f"Busy: {self.running} image builds in progress and {self.waiting} waiting",
                retry_after=max(1, self.waiting // max(1, self.slots)),
            )

    def release(self) -> None:
        if not self._line.hand_on():
            self.running -= 1

    async def wait(self) -> AsyncGenerator[Chunk, None]:
        """Yield `info` chunks with the place in line until a slot is held (then return);
        the caller must `release()` it. Leaving while queued gives up the place."""
        if self.running < self.slots and not self.waiting:
            self.running += 1
            return
        places = self._line.wait("Waiting for a build slot", self.release)
        async with contextlib.aclosing(places):
            async for info in places:
                yield info
