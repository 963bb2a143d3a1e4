"""The front of a run: the node the client is connected to. It runs the request itself when
it has a free slot; otherwise it puts it in the cluster queue and relays the chunks of the
node that takes it, in order, watching that node's heartbeat."""

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
from tinirun.cluster.node import Node, lost
from tinirun.cluster.wire import Job, decode_chunk, entries_of
from tinirun.errors import BusyError
from tinirun.models import Chunk, ChunkEvent
from tinirun.runner.gate import Gate, Slot
from tinirun.runner.run import STARTING

log = logging.getLogger(__name__)

READ_BLOCK_MS = 1000
READ_COUNT = 200


# Makes a run's chunks on this node; they free the slot given when the container ends.
Local = Callable[[Slot], AsyncIterator[Chunk]]


def running_on(name: str) -> Chunk:
    return Chunk.info(f"Running on node {name}")


class Front:
    """Admission across the cluster."""

    def __init__(self, node: Node, redis: aioredis.Redis, blocking: aioredis.Redis, gate: Gate,
                 queue_size: int) -> None:
        self.node = node
        self.redis = redis
        self.blocking = blocking
        self.gate = gate
        self.queue_size = queue_size

    async def admit(self, local: Local, job: Job) -> AsyncIterator[Chunk]:
        """The run's chunks: here when a slot is free (or the cluster is unreachable: then as
        a lone service), else through the cluster queue. BusyError when that queue is full."""
        if not self.node.slotless and (self.gate.try_take() or self.node.steal()):
            return self._here(local)
        if not self.node.connected:
            return self._alone(local)
        try:
            length, _ = await queue_figures(self.redis)
        except (RedisError, OSError):
            return self._alone(local)
        if length >= self.queue_size:
            raise BusyError(f"Busy: every node is full and {length} runs wait in the cluster "
                            "queue", retry_after=max(1, length // max(1, self.gate.slots)))
        return self._relay(job)

    def _alone(self, local: Local) -> AsyncIterator[Chunk]:
        """As a lone service: this node's own gate and queue."""
        self.gate.check()
        slot = Slot()
        return self.gate.stream(local(slot), slot)

    async def _here(self, local: Local) -> AsyncIterator[Chunk]:
        yield running_on(self.node.name)
        slot = Slot()
        async for chunk in self.gate.stream(local(slot), slot, held=True):
            yield chunk

    async def _relay(self, job: Job) -> AsyncIterator[Chunk]:
        out = keys.output(job.run)
        entry: str | None = None
        done = False
        try:
            await self.node.settled()
            entry = str(await self.redis.xadd(keys.QUEUE, {keys.F_JOB: job.encode()}))
            last, node, started, said = "0-0", None, False, -1
            place = await position(self.redis, entry)
            if place:
                yield Chunk.info(f"Waiting in the cluster queue: position {place}")
                said = place
            while True:
                answer = await self.blocking.xread({out: last}, count=READ_COUNT,
                                                   block=READ_BLOCK_MS)
                got = False
                for entry_id, fields in entries_of(answer):
                    last, got = entry_id, True
                    if not fields:
                        continue
                    if keys.F_TAKEN in fields:
                        node, started = fields[keys.F_TAKEN], False
                        yield running_on(node)
                        continue
                    chunk = decode_chunk(fields[keys.F_CHUNK])
                    started = started or (chunk.event == ChunkEvent.INFO
                                          and chunk.data == STARTING)
                    yield chunk
                    if chunk.event in (ChunkEvent.RESULT, ChunkEvent.ERROR):
                        done = True
                        return
                if got:
                    continue
                if node is None:
                    place = await position(self.redis, entry)
                    if place and place != said:
                        yield Chunk.info(f"Waiting in the cluster queue: position {place}")
                        said = place
                elif not await self.redis.exists(keys.node(node)):
                    if started:
                        done = True
                        yield lost(f"Node {node}, which was running this, is gone")
                        return
                    yield Chunk.info(f"Node {node} is gone before the run started: "
                                     "back in the queue")
                    node, said = None, -1
        except (RedisError, OSError) as exc:
            done = True
            yield lost(f"Lost the cluster's Redis during the run: {exc}")
        finally:
            await asyncio.shield(self._forget(job, entry, out, done))

    async def _forget(self, job: Job, entry: str | None, out: str, done: bool) -> None:
        with contextlib.suppress(RedisError, OSError):
            if not done:  # the client hung up: withdraw the run wherever it is
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.set(keys.cancel(job.run), "1", ex=max(60, self.node.ttl * 6))
                    if entry is not None:
                        pipe.xdel(keys.QUEUE, entry)
                    await pipe.execute()
            await self.redis.delete(out)


async def queue_figures(redis: aioredis.Redis) -> tuple[int, float | None]:
    """How many runs wait in the cluster queue (not yet taken) and how long the oldest has
    waited, in seconds."""
    last = await last_delivered(redis)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xlen(keys.QUEUE)
        pipe.xpending(keys.QUEUE, keys.GROUP)
        pipe.xrange(keys.QUEUE, min=f"({last}", max="+", count=1)
        size, pending, first = await pipe.execute(raise_on_error=False)
    if isinstance(size, Exception) or isinstance(pending, Exception) or \
            isinstance(first, Exception):
        return 0, None  # no queue yet (Redis came back empty)
    length = max(0, int(size) - int(pending["pending"]))
    oldest = None
    if first:
        oldest = max(0.0, time.time() - int(first[0][0].split("-")[0]) / 1000)
    return length, oldest


async def last_delivered(redis: aioredis.Redis) -> str:
    try:
        groups = await redis.xinfo_groups(keys.QUEUE)
    except ResponseError as exc:
        if "no such key" in str(exc):
            return "0-0"  # Redis came back empty; the nodes' heartbeats re-form the queue
        raise
    for group in groups:
        if group["name"] == keys.GROUP:
            return str(group["last-delivered-id"])
    return "0-0"


async def position(redis: aioredis.Redis, entry: str | None) -> int:
    """The place of `entry` in the queue (1: next); 0 when it has been taken."""
    if entry is None:
        return 0
    last = await last_delivered(redis)
    ahead = await redis.xrange(keys.QUEUE, min=f"({last}", max=entry, count=100_000)
    return len(entries_of(ahead))


async def cluster_status(redis: aioredis.Redis, me: str) -> dict[str, Any]:
    """The figures of GET /api/cluster."""
    nodes = []
    async for key in redis.scan_iter(match=keys.NODE_PATTERN, count=200):
        fields = await redis.hgetall(key)
        if not fields:
            continue
        beat = float(fields.get("beat", 0))
        nodes.append({
            "name": key.removeprefix(keys.node("")),
            "slots": int(fields.get("slots", 0)),
            "running": int(fields.get("running", 0)),
            "waiting_here": int(fields.get("waiting", 0)),
            "warm_containers": int(fields.get("warm", 0)),
            "engine": fields.get("engine", "unknown"),
            "draining": fields.get("draining") == "1",
            "taken_from_queue": int(fields.get("taken", 0)),
            "last_heartbeat": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(beat))
                              + f".{int(beat % 1 * 1000):03d}Z",
            "heartbeat_age_s": round(max(0.0, time.time() - beat), 3),
        })
    nodes.sort(key=lambda n: str(n["name"]))
    length, oldest = await queue_figures(redis)
    return {"node": me, "nodes": nodes,
            "queue": {"length": length,
                      "oldest_wait_s": None if oldest is None else round(oldest, 3)}}
