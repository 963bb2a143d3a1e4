"""The composition root: every object of the service, built from the config in one place.

`build_services` makes the engine adapter, images, warm pool, runner, gate, store, functions
and housekeeper, each given what it uses as explicit constructor arguments; the HTTP app
(`tinirun.api.app`) and the CLI both build through here. No HTTP in this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tinirun.config import Config
from tinirun.engine.container import BuildLimits, Isolation
from tinirun.engine.docker import Engine
from tinirun.errors import EngineError
from tinirun.labels import OWNER
from tinirun.languages import all_languages
from tinirun.metrics import Metrics
from tinirun.models import Chunk
from tinirun.runner.catalog import LanguageCatalog
from tinirun.runner.functions import FunctionService
from tinirun.runner.gate import Gate, Slot
from tinirun.runner.housekeeping import Housekeeper
from tinirun.runner.images import BuildSettings, ImageManager
from tinirun.runner.pool import PoolSettings, WarmPool
from tinirun.runner.run import Runner
from tinirun.store import open_store
from tinirun.store.base import Store

if TYPE_CHECKING:  # the cluster (and Redis) are imported only when RUNNER_CLUSTER is set
    from tinirun.cluster import Cluster
    from tinirun.cluster.front import Local
    from tinirun.cluster.wire import Job

log = logging.getLogger("tinirun")


@dataclass
class Services:
    """Everything the routes and the background work use; made once per process."""

    config: Config
    engine: Engine
    images: ImageManager
    pool: WarmPool
    runner: Runner
    gate: Gate
    store: Store
    functions: FunctionService
    housekeeper: Housekeeper
    metrics: Metrics
    catalog: LanguageCatalog
    cluster: Cluster | None = None
    _cleanup: asyncio.Task[None] | None = field(default=None, repr=False)
    _stopping: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Say whether the engine answers; if it does, repair what a crash left and warm the
        runtimes (in the background). Then start the periodic cleanup."""
        if await check_engine(self.engine):
            await self.housekeeper.at_start()
            await self.housekeeper.warm_runtimes()
        self._cleanup = asyncio.create_task(self.housekeeper.loop(self.config.cleanup_interval))
        if self.cluster is not None:
            self.cluster.start()

    async def admit(self, local: Local, job: Callable[[Cluster], Job]) -> AsyncIterator[Chunk]:
        """A run admitted: by the gate alone (one service), or across the cluster. `local`
        makes the run's chunks here, freeing the slot it is given when its container ends;
        `job` describes it to the cluster. Raises BusyError (429) before anything streams."""
        if self.cluster is None:
            self.gate.check()
            slot = Slot()
            return self.gate.stream(local(slot), slot)
        return await self.cluster.admit(local, job(self.cluster))

    async def stop_runs(self) -> None:
        """At the shutdown deadline: runs still going end with a `docker` error, their
        containers are removed, builds still going are cancelled (status `not_built`).
        `close` waits for it: its removals are not cut off when the engine's client closes."""
        self._stopping = asyncio.current_task()
        self.gate.stop()
        await self.housekeeper.at_stop()
        await self.functions.close(grace=0)

    async def close(self, grace: float | None = None) -> None:
        """Let builds finish for up to `grace` seconds, then remove what is left."""
        if self.cluster is not None:
            await self.cluster.close(grace)  # runs taken from the queue finish first
        if self._cleanup is not None:
            self._cleanup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cleanup
        await self.functions.close(grace)
        await self.catalog.close()
        await self.pool.close()
        await self.housekeeper.at_stop()
        await self._stopped()  # before the engine's client closes under its removals
        await self.store.close()
        await self.engine.close()

    async def _stopped(self) -> None:
        """Wait for `stop_runs`, if it has begun, to end (its failure is its own)."""
        if self._stopping is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._stopping)


def installation_id(data_dir: Path) -> str:
    """A stable id of this installation, kept in its data directory; it labels containers so
    that a restart can find the ones a crash left behind without touching anyone else's."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "installation-id"
    if not path.exists():
        path.write_text(uuid.uuid4().hex + "\n")
    return path.read_text().strip()


async def engine_cpus(engine: Engine) -> float:
    """The engine's CPU count (a remote engine's may differ from ours); this machine's when
    the engine does not answer yet."""
    try:
        return float((await engine.info()).get("NCPU") or os.cpu_count() or 1)
    except EngineError:
        return float(os.cpu_count() or 1)


async def check_engine(engine: Engine) -> bool:
    """Say in one line whether the Docker engine answers; the service starts either way."""
    try:
        version = await engine.ping()
    except EngineError as exc:
        log.error("Docker engine unreachable: %s. Runs will answer with a docker error "
                  "until it is reachable (set DOCKER_HOST to point at it).", exc)
        return False
    log.info("Docker engine %s reachable", version)
    return True


def build_settings(config: Config, isolation: Isolation | None = None) -> BuildSettings:
    """How builds are bounded and where installs may reach, from the settings."""
    return BuildSettings(
        limits=BuildLimits(memory_mb=config.build_memory_mb, cpu=config.build_cpus,
                           disk_mb=config.build_disk_mb, timeout=config.build_timeout),
        slots=config.max_concurrent_builds, queue_size=config.build_queue_size,
        installs=config.installs, allow_hosts=config.install_allow_hosts,
        refused_ranges=config.install_refused_ranges, proxy_image=config.proxy_image,
        install_env=config.install_env, isolation=isolation or Isolation(),
    )


def make_images(config: Config, engine: Engine, metrics: Metrics | None = None,
                isolation: Isolation | None = None) -> ImageManager:
    """The image manager of `config` (also used alone by `tinirun images` and `doctor`)."""
    return ImageManager(engine, config.base_image, config.image_overrides,
                        config.extra_ca_bundle, metrics=metrics,
                        builds=build_settings(config, isolation))


async def build_services(config: Config) -> Services:
    """Every object of the service, wired."""
    owner = installation_id(config.data_dir)
    engine = Engine()
    metrics = Metrics()
    isolation = Isolation(oci_runtime=config.oci_runtime, extra_labels={OWNER: owner},
                          max_cpus=await engine_cpus(engine))
    images = make_images(config, engine, metrics, isolation)
    pool = WarmPool(engine, PoolSettings(config.pool_size, config.pool_max_memory_mb,
                                         config.pool_idle_seconds))
    runner = Runner(engine, images, isolation, pool, max_stream_bytes=config.max_stream_bytes,
                    output_caps=(config.output_max_files, config.output_max_bytes),
                    compile_cpus=config.compile_cpus)
    gate = Gate(config.max_concurrent_runs, config.queue_size, metrics)
    metrics.live.running = lambda: gate.running
    metrics.live.waiting = lambda: gate.waiting
    metrics.live.warm = pool.idle_by_image
    store = await open_store(config.redis_url, config.data_dir)
    functions = FunctionService(store, engine, images, runner, pool, labels={OWNER: owner},
                                max_functions=config.max_functions)
    housekeeper = Housekeeper(engine, images, runner, pool, functions, owner,
                              config.dependency_image_max_age, config.image_max_total_mb)
    catalog = LanguageCatalog(all_languages(), engine, images, runner)
    cluster = None
    if config.cluster and config.redis_url and config.registry:
        from tinirun.cluster import Cluster

        cluster = Cluster(config, engine, images, runner, pool, gate, functions, metrics)
    return Services(config=config, engine=engine, images=images, pool=pool, runner=runner,
                    gate=gate, store=store, functions=functions, housekeeper=housekeeper,
                    metrics=metrics, catalog=catalog, cluster=cluster)
