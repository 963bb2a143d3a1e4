"""Many machines, one service: N ordinary tinirun services, each with its own Docker engine,
sharing a Redis (function records, a run queue on Redis Streams, heartbeats) and an image
registry (function and dependency images built once). See the README, "More than one machine".

`Cluster` is made by the composition root when RUNNER_CLUSTER=true (only then is this package,
and Redis with it, imported); the routes reach it through `Services.admit`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from tinirun.cluster.front import Front, Local, cluster_status
from tinirun.cluster.images import RegistryImages
from tinirun.cluster.node import READ_BLOCK_MS, Node, lost
from tinirun.cluster.wire import Job
from tinirun.config import Config
from tinirun.engine.docker import Engine
from tinirun.errors import StoreUnavailableError, TinirunError
from tinirun.function_models import FunctionRunRequest, StatusReady
from tinirun.metrics import Metrics
from tinirun.models import Chunk, RunLimits, RunRequest
from tinirun.runner.functions import FunctionService
from tinirun.runner.gate import Gate, Slot
from tinirun.runner.images import ImageManager
from tinirun.runner.pool import WarmPool
from tinirun.runner.run import Runner
from tinirun.store.base import FunctionRecord

__all__ = ["Cluster", "Job"]

log = logging.getLogger(__name__)

TIMEOUT_S = 2.0


def _client(url: str, read_timeout: float) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=TIMEOUT_S,
        socket_timeout=read_timeout, retry=Retry(NoBackoff(), 0), health_check_interval=5,
    )


class Cluster:
    """This node's part in the cluster: taking runs (`node`), placing them (`front`), and the
    shared images (`images`)."""

    def __init__(self, config: Config, engine: Engine, images: ImageManager, runner: Runner,
                 pool: WarmPool, gate: Gate, functions: FunctionService,
                 metrics: Metrics) -> None:
        assert config.redis_url and config.registry
        self.name = config.node_name
        self.redis = _client(config.redis_url, TIMEOUT_S)
        # Blocking stream reads wait up to READ_BLOCK_MS on connections of their own.
        self.blocking = _client(config.redis_url, READ_BLOCK_MS / 1000 + TIMEOUT_S)
        self.runner = runner
        self.pool = pool
        self.functions = functions
        self.metrics = metrics
        self.images = RegistryImages(engine, self.redis, config.registry)
        images.shared = self.images
        functions.registry = self.images.registry
        self.node = Node(self.name, self.redis, self.blocking, gate, config.node_ttl,
                         self._execute, engine, lambda: self._stats(gate))
        self.front = Front(self.node, self.redis, self.blocking, gate, config.queue_size)

    def job(self, kind: str, body: dict[str, Any]) -> Job:
        assert kind in ("code", "function")
        return Job(kind=kind, body=body, front=self.name)  # type: ignore[arg-type]

    def _stats(self, gate: Gate) -> dict[str, Any]:
        # The slot a node holds while it waits for queued work is not a run.
        running = gate.running - (1 if self.node.reading else 0)
        return {"slots": gate.slots, "running": running, "waiting": gate.waiting,
                "warm": self.pool.idle_count()}

    def start(self) -> None:
        self.node.start()

    def drain(self) -> None:
        self.node.drain()

    async def close(self, grace: float | None) -> None:
        await self.node.close(grace)
        await self.blocking.aclose()
        await self.redis.aclose()

    async def status(self) -> dict[str, Any]:
        """The nodes and the queue; StoreUnavailableError (503) when Redis cannot be reached."""
        try:
            return await cluster_status(self.redis, self.name)
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"Cluster store unavailable: {exc}") from exc

    async def admit(self, local: Local, job: Job) -> AsyncIterator[Chunk]:
        return await self.front.admit(local, job)

    async def _execute(self, job: Job, slot: Slot) -> AsyncIterator[Chunk]:
        """The chunks of a job another node queued, checked here as if it came in here."""
        try:
            chunks = self._chunks(job, slot)
        except (TinirunError, ValidationError, KeyError, ValueError) as exc:
            yield lost(f"Node {self.name} could not take the run: {exc}")
            return
        async for chunk in chunks:
            yield chunk

    def _chunks(self, job: Job, slot: Slot) -> AsyncIterator[Chunk]:
        if job.kind == "code":
            prepared = self.runner.prepare(RunRequest.model_validate(job.body))
            return self.metrics.observe_run(self.runner.run(prepared, on_exit=slot.free),
                                            prepared.language.name, "code")
        body = dict(job.body)
        tag = str(body.pop("tag"))
        record = FunctionRecord(name=body.pop("name"), lang=body.pop("lang"), code="",
                                status=StatusReady(tag=tag, id=""), created_at="",
                                updated_at="", version=int(body.pop("version")))
        request = FunctionRunRequest.model_validate(body)
        limits = RunLimits.model_validate(request.model_dump(exclude={"input"}))
        return self.metrics.observe_run(
            self.functions.run(record, tag, request.input, limits, on_exit=slot.free),
            record.lang, "function")

