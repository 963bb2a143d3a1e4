"""A started container that waits for its input on stdin: fed once, then removed.

Fresh runs make one and feed it at once; the warm pool makes them ahead of demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiodocker
import aiohttp

from tinirun.engine.errors import engine_errors
from tinirun.errors import EngineError

if TYPE_CHECKING:
    from tinirun.engine.docker import Engine

# After a kill, how long to wait for the container to report its exit.
EXIT_GRACE = 10.0
# How often the peak memory of a running container is read.
PEAK_INTERVAL = 0.1
# The exit code of a process killed with SIGKILL (the OOM killer's signal too).
KILLED = 137


@dataclass(frozen=True)
class Output:
    """Bytes the program wrote; `stream` is 1 for stdout, 2 for stderr."""

    stream: int
    data: bytes


@dataclass(frozen=True)
class Exit:
    """How the container ended."""

    exit_code: int | None
    timed_out: bool
    oom_killed: bool
    duration_ms: int
    memory_peak_bytes: int | None = None


# Where a container's peak memory can be read when the engine runs on this host: the memory
# cgroup of the container (cgroup v1 with the cgroupfs or systemd driver, or cgroup v2).
_PEAK_FILES = (
    "/sys/fs/cgroup/memory/docker/{id}/memory.max_usage_in_bytes",
    "/sys/fs/cgroup/memory/system.slice/docker-{id}.scope/memory.max_usage_in_bytes",
    "/sys/fs/cgroup/system.slice/docker-{id}.scope/memory.peak",
    "/sys/fs/cgroup/docker/{id}/memory.peak",
)


def memory_peak(container_id: str) -> int | None:
    """The container's peak memory from its cgroup, or None where this host cannot see it
    (a remote engine, an older kernel)."""
    for pattern in _PEAK_FILES:
        try:
            return int(Path(pattern.format(id=container_id)).read_text().strip())
        except (OSError, ValueError):
            continue
    return None


class Attached:
    """A created, attached and started container, waiting for input. Single use."""

    def __init__(self, engine: Engine, container: Any, stream: Any,
                 config: dict[str, Any]) -> None:
        self.engine = engine
        self.container = container
        self.stream = stream
        self.config = config
        self.created = time.monotonic()
        self._used = False

    @property
    def id(self) -> str:
        return str(self.container.id)

    @property
    def memory(self) -> int:
        return int(self.config["HostConfig"]["Memory"])

    @property
    def nano_cpus(self) -> int:
        return int(self.config["HostConfig"]["NanoCpus"])

    @property
    def alive(self) -> bool:
        """Whether the attach connection is still open: a container killed from outside
        (an engine restart, `docker kill`) has lost it and can take no input."""
        response = self.stream._resp
        connection = response.connection if response is not None else None
        transport = connection.transport if connection is not None else None
        return transport is not None and not transport.is_closing()

    async def update_limits(self, memory: int, nano_cpus: int) -> None:
        """Change memory (and swap, kept equal) and CPU quota before the program starts."""
        with engine_errors():
            await self.engine.docker._query_json(
                f"containers/{self.id}/update", method="POST",
                data={"Memory": memory, "MemorySwap": memory, "NanoCpus": nano_cpus},
            )

    def discard(self) -> None:
        """Close the streams and remove the container (in the background)."""
        self._used = True
        with contextlib.suppress(Exception):
            _close(self.stream)
        self.engine.remove_soon(self.id)

    async def feed(self, stdin: bytes, time_limit: float) -> AsyncIterator[Output | Exit]:
        """Write `stdin` and close it, then yield the output as it comes and finally one Exit.

        The container is killed `time_limit` seconds from now whether or not the caller is
        still reading, and is removed when the generator ends (also when it is cancelled).
        """
        if self._used:
            raise RuntimeError("a container is fed once")
        self._used = True
        timed_out = asyncio.Event()
        started = time.monotonic()
        fed_at = time.time()

        async def kill_at_deadline() -> None:
            await asyncio.sleep(time_limit)
            timed_out.set()
            with contextlib.suppress(aiodocker.DockerError, aiohttp.ClientError, OSError):
                await self.container.kill(signal="SIGKILL")

        # The cgroup goes with the container: keep the high-water mark read while it runs.
        peak: int | None = None

        async def watch_memory() -> None:
            nonlocal peak
            while True:
                peak = memory_peak(self.id) or peak
                await asyncio.sleep(PEAK_INTERVAL)

        watchdog = asyncio.create_task(kill_at_deadline())
        watcher = asyncio.create_task(watch_memory())
        try:
            with engine_errors():
                if not self.alive:
                    raise EngineError("The container's streams were closed before the run")
                if stdin:
                    await self.stream.write_in(stdin)
                _close_stdin(self.stream)
                while True:
                    message = await self.stream.read_out()
                    if message is None:
                        peak = memory_peak(self.id) or peak
                        break
                    yield Output(message.stream, message.data)
                status = await asyncio.wait_for(self.container.wait(), time_limit + EXIT_GRACE)
                code = status.get("StatusCode")
                oom = False
                if code == KILLED and not timed_out.is_set():
                    state = (await self.container.show()).get("State", {})
                    oom = bool(state.get("OOMKilled"))
                if code is not None and code > 128 and not oom and not timed_out.is_set() and (
                    await self.engine.kill_signals(self.id, fed_at)
                ):
                    # Killed by a signal we did not send: the run did not end, it was ended.
                    raise EngineError("The Docker engine stopped the container before the "
                                      "program ended")
            killed = timed_out.is_set()
            yield Exit(
                exit_code=None if killed or code is None else int(code),
                timed_out=killed,
                oom_killed=oom,
                duration_ms=int((time.monotonic() - started) * 1000),
                memory_peak_bytes=peak,
            )
        finally:
            watchdog.cancel()
            watcher.cancel()
            with contextlib.suppress(Exception):
                _close(self.stream)
            self.engine.remove_soon(self.id)


def _close_stdin(stream: Any) -> None:
    """Half-close the attach connection so the program sees end of input."""
    response = stream._resp
    transport = response.connection.transport if response and response.connection else None
    if transport is not None and transport.can_write_eof():
        transport.write_eof()


def _close(stream: Any) -> None:
    # aiodocker's Stream.close() is a coroutine with no await inside; close the response
    # directly so this also works from synchronous cleanup.
    response = stream._resp
    if response is not None:
        response.close()
    stream._closed = True
