"""create_app: the FastAPI application, its lifespan (engine, store, runner) and routes.

The API lives in a sub-application mounted at /api, so its OpenAPI document declares one
server, `/api`, and lists paths relative to it as the original's does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import Depends, FastAPI

from tinirun import __version__
from tinirun.api import code, errors, functions, ops
from tinirun.api.auth import require_api_key
from tinirun.api.middleware import ApiBodyMiddleware
from tinirun.api.openapi import install_chunk_schema, install_docs
from tinirun.config import Config
from tinirun.engine.container import Isolation
from tinirun.engine.docker import Engine
from tinirun.errors import EngineError
from tinirun.metrics import Metrics
from tinirun.playground import create_playground
from tinirun.runner.functions import FunctionService
from tinirun.runner.gate import Gate
from tinirun.runner.housekeeping import OWNER_LABEL, Housekeeper
from tinirun.runner.images import ImageManager
from tinirun.runner.pool import PoolSettings, WarmPool
from tinirun.runner.run import Runner
from tinirun.store import open_store
from tinirun.store.base import Store

log = logging.getLogger("tinirun")


@dataclass
class Services:
    """What the routes use, made in the lifespan and passed in through app.state."""

    engine: Engine
    images: ImageManager
    runner: Runner
    gate: Gate
    store: Store
    functions: FunctionService
    housekeeper: Housekeeper
    metrics: Metrics

    async def stop_runs(self) -> None:
        """At the shutdown deadline: runs still going end with a `docker` error, their
        containers are removed, builds still going are cancelled (status `not_built`)."""
        self.gate.stop()
        await self.housekeeper.at_stop()
        await self.functions.close(grace=0)

    async def close(self, grace: float | None = None) -> None:
        """Let builds finish for up to `grace` seconds, then remove what is left."""
        await self.functions.close(grace)
        await self.runner.pool.close()
        await self.housekeeper.at_stop()
        await self.store.close()
        await self.engine.close()


def installation_id(data_dir: Path) -> str:
    """A stable id of this installation, kept in its data directory; it labels containers so
    that a restart can find the ones a crash left behind without touching anyone else's."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "installation-id"
    if not path.exists():
        path.write_text(uuid.uuid4().hex + "\n")
    return path.read_text().strip()


async def engine_cpus(engine: Engine) -> float | None:
    """The engine's CPU count (a remote engine's may differ from ours); this machine's when
    the engine does not answer yet."""
    try:
        return float((await engine.info()).get("NCPU") or os.cpu_count() or 1)
    except EngineError:
        return float(os.cpu_count() or 1)


async def build_services(config: Config) -> Services:
    owner = installation_id(config.data_dir)
    engine = Engine()
    metrics = Metrics()
    images = ImageManager(engine, config.base_image, config.image_overrides,
                          config.extra_ca_bundle, metrics=metrics)
    isolation = Isolation(oci_runtime=config.oci_runtime, extra_labels={OWNER_LABEL: owner},
                          max_cpus=await engine_cpus(engine))
    pool = WarmPool(engine, PoolSettings(config.pool_size, config.pool_max_memory_mb,
                                         config.pool_idle_seconds))
    runner = Runner(engine, images, isolation, pool, max_stream_bytes=config.max_stream_bytes)
    gate = Gate(config.max_concurrent_runs, config.queue_size, metrics)
    metrics.live.running = lambda: gate.running
    metrics.live.waiting = lambda: gate.waiting
    metrics.live.warm = pool.idle_by_image
    store = await open_store(config.redis_url, config.data_dir)
    functions = FunctionService(store, images, runner, labels={OWNER_LABEL: owner})
    housekeeper = Housekeeper(engine, images, functions, owner, config.dependency_image_max_age)
    return Services(engine=engine, images=images, runner=runner, gate=gate, store=store,
                    functions=functions, housekeeper=housekeeper, metrics=metrics)


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


def create_api(config: Config) -> FastAPI:
    """The /api sub-application: every route of the contract."""
    api = FastAPI(
        title="tinirun",
        version=__version__,
        description="Run code snippets in ephemeral, hardened Docker containers.",
        servers=[{"url": "/api"}],
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    secured = [Depends(require_api_key)]
    api.include_router(ops.router, tags=["service"])
    api.include_router(code.router, dependencies=secured, tags=["code"])
    api.include_router(functions.router, dependencies=secured, tags=["functions"])
    install_docs(api)
    install_chunk_schema(api)
    errors.install(api)
    return api


def create_app(config: Config, services: Services | None = None) -> FastAPI:
    """The whole service. `services` may be given by tests; else made in the lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        made = services or await build_services(config)
        api.state.services = made
        app.state.services = made
        if await check_engine(made.engine):
            await made.housekeeper.at_start()
            # Pools fill in the background: start-up does not wait for containers.
            await made.housekeeper.warm_runtimes()
        cleanup = asyncio.create_task(made.housekeeper.loop(config.cleanup_interval))
        try:
            yield
        finally:
            cleanup.cancel()
            await made.close(grace=config.shutdown_grace)

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    api = create_api(config)
    api.state.config = config
    app.state.config = config
    if config.metrics:
        app.add_api_route("/metrics", ops.metrics, methods=["GET"], include_in_schema=False)
    app.mount("/api", ApiBodyMiddleware(api, config.max_body_bytes))
    if config.playground:
        app.mount("/", create_playground())
    return app
