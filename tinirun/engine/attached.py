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
from typing import Any, Protocol

from tinirun.engine.errors import engine_errors
from tinirun.errors import EngineError

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


class Lifecycle(Protocol):
    """What an attached container asks of the engine adapter that made it. The adapter
    (`docker.Engine`) implements it; this module does not import the adapter, and the unit
    tests give a fake here (the seam of the fast suite)."""

    async def update_limits(self, container_id: str, memory: int, nano_cpus: int) -> None: ...

    async def wait(self, container_id: str) -> int | None: ...

    async def oom_killed(self, container_id: str) -> bool: ...

    async def kill(self, container_id: str) -> None: ...

    async def kill_signals(self, container_id: str, since: float) -> list[str]: ...

    def remove_soon(self, container_id: str) -> None: ...


class Channel(Protocol):
    """The attach connection of one container: its stdin, stdout and stderr."""

    @property
    def open(self) -> bool: ...

    async def write(self, data: bytes) -> None: ...

    def close_input(self) -> None: ...

    async def read(self) -> Output | None: ...

    def close(self) -> None: ...


class Attached:
    """A created, attached and started container, waiting for input. Single use."""

    def __init__(self, engine: Lifecycle, container_id: str, channel: Channel,
                 config: dict[str, Any]) -> None:
        self.engine = engine
        self.id = container_id
        self.channel = channel
        self.config = config
        self.created = time.monotonic()
        self._used = False

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
        return self.channel.open

    async def update_limits(self, memory: int, nano_cpus: int) -> None:
        """Change memory (and swap, kept equal) and CPU quota before the program starts."""
        await self.engine.update_limits(self.id, memory, nano_cpus)

    def discard(self) -> None:
        """Close the streams and remove the container (in the background)."""
        self._used = True
        with contextlib.suppress(Exception):
            self.channel.close()
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
            with contextlib.suppress(EngineError):
                await self.engine.kill(self.id)

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
            if not self.alive:
                raise EngineError("The container's streams were closed before the run")
            with engine_errors():
                if stdin:
                    await self.channel.write(stdin)
                self.channel.close_input()
                while True:
                    message = await self.channel.read()
                    if message is None:
                        peak = memory_peak(self.id) or peak
                        break
                    yield message
            # The output ended: the program has exited (or closed its streams and goes on
            # until its deadline). The engine's wait answers with its exit code.
            code = await asyncio.wait_for(self.engine.wait(self.id), time_limit + EXIT_GRACE)
            killed = timed_out.is_set()
            oom = code == KILLED and not killed and await self.engine.oom_killed(self.id)
            if code is not None and code > 128 and not oom and not killed and (
                await self.engine.kill_signals(self.id, fed_at)
            ):
                # Killed by a signal we did not send: the run did not end, it was ended.
                raise EngineError("The Docker engine stopped the container before the "
                                  "program ended")
            yield Exit(
                exit_code=None if killed or code is None else code,
                timed_out=killed,
                oom_killed=oom,
                duration_ms=int((time.monotonic() - started) * 1000),
                memory_peak_bytes=peak,
            )
        except TimeoutError as exc:
            raise EngineError("The Docker engine did not report the container's exit") from exc
        finally:
            watchdog.cancel()
            watcher.cancel()
            with contextlib.suppress(Exception):
                self.channel.close()
            self.engine.remove_soon(self.id)
