"""One node of the cluster: it heartbeats, takes queued runs when it has a free slot (Redis
Streams consumer group: whichever node has room first reads the next entry), runs them, and
writes their chunks to the run's output stream for the node the client is connected to.

A run taken but not started stays pending in the group: if its node dies, a live node claims
it (XCLAIM) and runs it. Once its program starts, the entry is acknowledged and deleted, so a
started program never runs twice; its node dying ends it with a `docker` error (the front
node watches the heartbeat).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from tinirun.cluster import keys
from tinirun.cluster.wire import Job, encode_chunk, entries_of
from tinirun.engine.docker import Engine
from tinirun.errors import EngineError
from tinirun.failures import error_data
from tinirun.models import Chunk, ChunkEvent
from tinirun.runner.gate import Gate, Slot
from tinirun.runner.run import STARTING

log = logging.getLogger(__name__)

READ_BLOCK_MS = 1000
# A node with room waits for queued work in reads this long (ms): a read whose slot a local
# run took over ends within this time, and the node's own front waits for it (see `settled`).
TAKE_BLOCK_MS = 200
CLAIM_BATCH = 50


def lost(message: str) -> Chunk:
    return Chunk.error(error_data(EngineError(message)))


class Node:
    """The taking side of the cluster; `execute` turns a job into its chunks."""

    def __init__(self, name: str, redis: aioredis.Redis, blocking: aioredis.Redis, gate: Gate,
                 ttl: int, execute: Callable[[Job, Slot], AsyncIterator[Chunk]], engine: Engine,
                 stats: Callable[[], dict[str, Any]]) -> None:
        self.name = name
        self.redis = redis
        self.blocking = blocking
        self.gate = gate
        self.ttl = ttl
        self.execute = execute
        self.engine = engine
        self.engine_ok = True
        self.stats = stats
        self.connected = False
        self.draining = False
        self.started_at = time.time()
        self.taken = 0  # runs of the queue this node has taken
        self._inflight: dict[str, asyncio.Task[None]] = {}  # queue entry id -> its task
        self._started: set[str] = set()  # entries whose program has started
        self._withdrawn: set[str] = set()  # entries whose client has gone
        self._reserved = False  # a slot held while reading the queue
        self._read_over = asyncio.Event()
        self._read_over.set()
        # Entries read while a local run took the reserved slot: they go first when one frees.
        self.slotless = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # --- life ---------------------------------------------------------------------------------

    def start(self) -> None:
        for loop in (self._heartbeat_loop(), self._take_loop()):
            task = asyncio.create_task(loop)
            self._tasks.add(task)

    def drain(self) -> None:
        """Take no more runs (SIGTERM); runs under way go on."""
        self.draining = True

    async def close(self, grace: float | None) -> None:
        """Stop taking, let runs under way finish for `grace` s (then cancel them), leave."""
        self.draining = True
        running = list(self._inflight.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await self.redis.delete(keys.node(self.name))
            mine = await self.redis.xpending_range(keys.QUEUE, keys.GROUP, "-", "+", 1,
                                                   consumername=self.name)
            if not mine:
                await self.redis.xgroup_delconsumer(keys.QUEUE, keys.GROUP, self.name)

    # --- heartbeat ----------------------------------------------------------------------------

    async def _ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(keys.QUEUE, keys.GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def beat(self) -> None:
        """Write this node's heartbeat (it expires after the TTL)."""
        fields = {**self.stats(), "engine": "up" if self.engine_ok else "down",
                  "draining": int(self.draining), "beat": time.time(),
                  "started": self.started_at, "taken": self.taken}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.node(self.name), mapping={k: str(v) for k, v in fields.items()})
            pipe.expire(keys.node(self.name), self.ttl)
            await pipe.execute()

    async def _check_engine(self) -> None:
        try:
            await asyncio.wait_for(self.engine.ping(), self.ttl / 3)
            ok = True
        except (EngineError, TimeoutError):
            ok = False
        if self.engine_ok and not ok:
            log.warning("node %s lost its Docker engine: its runs end", self.name)
            for entry_id, task in list(self._inflight.items()):
                if entry_id in self._started:
                    task.cancel()
        self.engine_ok = ok

    async def _heartbeat_loop(self) -> None:
        while True:
            await self._check_engine()
            try:
                if not self.connected:
                    await self._ensure_group()
                await self.beat()
                if not self.connected:
                    log.info("node %s joined the cluster", self.name)
                self.connected = True
                await self._reclaim()
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.warning("cluster store unreachable, running alone: %s", exc)
                self.connected = False
            await asyncio.sleep(self.ttl / 4)

    # --- taking runs --------------------------------------------------------------------------

    def _room(self) -> bool:
        return (not self.draining and self.connected and self.engine_ok
                and not self.gate.stopping and self.gate.running < self.gate.slots
                and self.gate.waiting == 0 and self.slotless == 0)

    @property
    def reading(self) -> bool:
        """Whether this node holds a slot while it reads the queue."""
        return self._reserved

    async def settled(self) -> None:
        """Wait for a read of the queue that no longer has a slot (a local run took it) to end,
        so that the run about to be queued goes to a node with room, not to this one."""
        if not self._reserved:
            await self._read_over.wait()

    def steal(self) -> bool:
        """Hand the slot this node holds while it waits for queued work to a run that came in
        here (the front's hook): local runs never queue behind an idle node's own read."""
        if self._reserved:
            self._reserved = False
            return True
        return False

    async def _take_loop(self) -> None:
        while True:
            # The slot is taken before the read, so a node only ever reads work it has room
            # for; a run that comes in meanwhile takes the slot over (`steal`).
            if not self._room() or not self.gate.try_take():
                await self.gate.wait_free(0.5)
                continue
            self._reserved = True
            self._read_over.clear()
            answer: object = None
            try:
                answer = await self.blocking.xreadgroup(
                    keys.GROUP, self.name, {keys.QUEUE: ">"}, count=1, block=TAKE_BLOCK_MS)
            except ResponseError as exc:
                if "NOGROUP" in str(exc):
                    self.connected = False  # Redis came back empty: the heartbeat re-forms
            except (RedisError, OSError):
                self.connected = False
            finally:
                held, self._reserved = self._reserved, False
                self._read_over.set()
            entries = entries_of(answer)
            if held and not entries:
                self.gate.give_back()
            for entry_id, fields in entries:
                # Recorded before any await, so the reclaim pass never takes it for a stale one.
                self._spawn(entry_id, fields, held)
            if not entries and not self.connected:
                await asyncio.sleep(0.5)

    def _spawn(self, entry_id: str, fields: dict[str, str] | None, held: bool) -> None:
        task = asyncio.create_task(self._run_entry(entry_id, fields, held))
        self._inflight[entry_id] = task
        task.add_done_callback(lambda _: self._inflight.pop(entry_id, None))

    async def _reclaim(self) -> None:
        """Claim runs taken, but not started, by nodes that are gone (or by this node before
        a restart), while there is room."""
        if not self._room():
            return
        pending = await self.redis.xpending_range(keys.QUEUE, keys.GROUP, "-", "+", CLAIM_BATCH)
        for item in pending:
            if not self._room():
                return
            entry_id, consumer = str(item["message_id"]), str(item["consumer"])
            if entry_id in self._inflight:
                continue
            if consumer != self.name and await self.redis.exists(keys.node(consumer)):
                continue
            claimed = await self.redis.xclaim(keys.QUEUE, keys.GROUP, self.name,
                                              min_idle_time=0, message_ids=[entry_id])
            for claimed_id, fields in entries_of(claimed):
                log.info("claimed run %s of node %s", claimed_id, consumer)
                self._spawn(claimed_id, fields, self.gate.try_take())

    async def _done_with(self, entry_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(keys.QUEUE, keys.GROUP, entry_id)
            pipe.xdel(keys.QUEUE, entry_id)
            await pipe.execute()

    async def _run_entry(self, entry_id: str, fields: dict[str, str] | None,
                         held: bool) -> None:
        job = Job.decode(fields[keys.F_JOB]) if fields and keys.F_JOB in fields else None
        try:
            withdrawn = job is None or await self.redis.exists(keys.cancel(job.run))
        except BaseException:
            if held:
                self.gate.give_back()
            raise
        if withdrawn or job is None:
            if held:
                self.gate.give_back()
            await self._done_with(entry_id)  # withdrawn by its client
            return
        if not held:  # a local run took the slot as this entry came: it goes next here
            self.slotless += 1
            try:
                while not held:
                    if self.gate.stopping:
                        return  # left pending: claimed again (by this node after a restart)
                    await self.gate.wait_free(0.5)
                    held = self.gate.try_take()
            finally:
                self.slotless -= 1
        self.taken += 1
        out = Output(self.redis, keys.output(job.run), self.ttl)
        out.put(keys.F_TAKEN, self.name)
        me = asyncio.current_task()
        assert me is not None
        watch = asyncio.create_task(self._watch(job, entry_id, me))
        ended = False
        try:
            slot = Slot()
            async for chunk in self.gate.stream(self.execute(job, slot), slot, held=True):
                if (entry_id not in self._started and chunk.event == ChunkEvent.INFO
                        and chunk.data == STARTING):
                    self._started.add(entry_id)
                    await self._done_with(entry_id)
                out.put(keys.F_CHUNK, encode_chunk(chunk))
            ended = True
        except asyncio.CancelledError:
            if entry_id not in self._started and entry_id not in self._withdrawn:
                raise  # stopped before its program started: stays pending, claimed again
            if entry_id in self._started and entry_id not in self._withdrawn:
                why = "its engine is gone" if not self.engine_ok else "the node is stopping"
                out.put(keys.F_CHUNK, encode_chunk(lost(
                    f"The run on node {self.name} was stopped: {why}")))
        finally:
            watch.cancel()
            if entry_id not in self._started and (ended or entry_id in self._withdrawn):
                with contextlib.suppress(RedisError, OSError):
                    await self._done_with(entry_id)  # ended before its program (an error)
            self._started.discard(entry_id)
            self._withdrawn.discard(entry_id)
            await out.close()

    async def _watch(self, job: Job, entry_id: str, task: asyncio.Task[None]) -> None:
        """Stop the run when its client has gone (cancel key, or its front node is gone)."""
        while True:
            await asyncio.sleep(1)
            with contextlib.suppress(RedisError, OSError):
                gone = await self.redis.exists(keys.cancel(job.run))
                front = await self.redis.exists(keys.node(job.front))
                if gone or not front:
                    self._withdrawn.add(entry_id)
                    task.cancel()
                    return


class Output:
    """Writes one run's stream entries in order, batching what piles up into one round trip."""

    def __init__(self, redis: aioredis.Redis, key: str, ttl: int) -> None:
        self.redis = redis
        self.key = key
        # An output nobody reads any more goes away by itself.
        self.expire = max(600, ttl * 10)
        self._pending: list[tuple[str, str]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._loop())

    def put(self, field: str, value: str) -> None:
        self._pending.append((field, value))
        self._wake.set()

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        await asyncio.shield(self._task)

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                try:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for field, value in batch:
                            pipe.xadd(self.key, {field: value})
                        pipe.expire(self.key, self.expire)
                        await pipe.execute()
                except (RedisError, OSError) as exc:
                    log.warning("output of a run lost: %s", exc)
            if self._closed and not self._pending:
                return
