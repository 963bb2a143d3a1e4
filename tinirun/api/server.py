"""serve: run the app under uvicorn with the configured address and log level, and stop it
gracefully: on SIGTERM it stops accepting, lets runs under way finish for up to
RUNNER_SHUTDOWN_GRACE seconds, then stops the rest (each stream ends with a `docker` error)."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from types import FrameType

import uvicorn
from fastapi import FastAPI

from tinirun.api.app import create_app
from tinirun.api.protocol import deadline_protocol
from tinirun.config import Config
from tinirun.datadir import DataDirLock
from tinirun.service import Services

# The contract's levels, mapped to Python's (trace is debug with more detail).
LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO,
          "warn": logging.WARNING, "error": logging.ERROR}
# After the runs are stopped, how long their streams have to end before uvicorn cancels them.
STREAM_END_MARGIN = 5

log = logging.getLogger("tinirun")


class GracefulServer(uvicorn.Server):
    """uvicorn's server, which also stops the service's runs at the shutdown deadline."""

    def __init__(self, config: uvicorn.Config, app: FastAPI, grace: float,
                 service_config: Config) -> None:
        super().__init__(config)
        self.app = app
        self.service_config = service_config
        self.grace = grace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopper: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:  # bound: say where, whatever the log level
            print("\n".join(addresses(self.service_config)), file=sys.stderr, flush=True)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        first = not self.should_exit
        super().handle_exit(sig, frame)
        if first and self._loop is not None:
            self._loop.call_soon_threadsafe(self._arm)
            cluster = getattr(getattr(self.app.state, "services", None), "cluster", None)
            if cluster is not None:
                self._loop.call_soon_threadsafe(cluster.drain)  # take no more queued runs

    def _arm(self) -> None:
        assert self._loop is not None
        self._stopper = self._loop.call_later(self.grace, self._stop_runs)

    def _stop_runs(self) -> None:
        services = getattr(self.app.state, "services", None)
        if not isinstance(services, Services):
            return
        log.warning("shutdown grace of %s s is over: stopping the runs still going", self.grace)
        task = asyncio.ensure_future(services.stop_runs())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def serve(config: Config) -> None:
    """Serve until SIGTERM or SIGINT. DataDirInUseError, before anything else is touched,
    when another service holds the data directory."""
    level = LEVELS[config.log_level]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("tinirun").setLevel(min(level, logging.INFO))
    lock = DataDirLock.acquire(config.data_dir, f"http://{config.host}:{config.port}")
    try:
        _serve_locked(config, level)
    finally:
        lock.release()


def _serve_locked(config: Config, level: int) -> None:
    app = create_app(config)
    settings = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        log_level="warning" if level > logging.INFO else "info",
        # The runs are stopped at the grace; this only bounds how long their streams take.
        timeout_graceful_shutdown=config.shutdown_grace + STREAM_END_MARGIN,
        # Deadlines for slow clients (headers, unread answers) and a cap on connections.
        http=deadline_protocol(config.request_timeout, config.write_timeout),
        limit_concurrency=config.max_connections,
    )
    GracefulServer(settings, app, config.shutdown_grace, config).run()


def addresses(config: Config) -> list[str]:
    """The lines the service prints once it listens: where, and its pages."""
    wildcard = config.host in ("0.0.0.0", "::", "")
    host = "127.0.0.1" if wildcard else config.host
    base = f"http://{f'[{host}]' if ':' in host else host}:{config.port}"
    where = f"{config.host or '*'}:{config.port} (every address of this machine)" if wildcard \
        else base
    lines = [f"tinirun listening on {where}"]
    if config.playground:
        lines.append(f"  playground  {base}/")
    lines.append(f"  API docs    {base}/api/docs")
    lines.append(f"  MCP         {base}/mcp")
    if config.metrics:
        lines.append(f"  metrics     {base}/metrics")
    return lines
