"""A started container that waits for its input on stdin: fed once, then removed.

Fresh runs make one and feed it at once; the warm pool makes them ahead of demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tinirun.engine.errors import engine_errors
from tinirun.engine.output import (
    Channel,
    EndScanner,
    Handoff,
    Output,
    ReadAhead,
    Trailer,
    read_trailer,
)
from tinirun.errors import EngineError

# After a kill, how long to wait for the container to report its exit.
EXIT_GRACE = 10.0
# A caller still this far behind the end of the output is lagging: the engine is asked when
# the container is gone, so the run's slot is freed then and not at the end of its stream.
LAG_GRACE = 1.0
# How often the peak memory of a running container is read.
PEAK_INTERVAL = 0.1
# The exit code of a process killed with SIGKILL (the OOM killer's signal too).
KILLED = 137


@dataclass(frozen=True)
class Exit:
    """How the container ended."""

    exit_code: int | None
    timed_out: bool
    oom_killed: bool
    duration_ms: int
    memory_peak_bytes: int | None = None
    # What the boot command sent after the program's exit (a tar of the output files).
    files: bytes = b""


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

    def remove_soon(self, container_id: str,
                    stopping: bool = False) -> asyncio.Future[None] | None: ...


class OnExit(Protocol):
    """Told that a run's container has ended; with `after`, that it is still exiting and no
    longer runs once `after` is done (`gate.Slot.free`)."""

    def __call__(self, after: asyncio.Future[Any] | None = None) -> None: ...


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

    async def feed(self, stdin: bytes, time_limit: float,
                   mark: bytes | None = None,
                   on_exit: OnExit | None = None,
                   handoff: Handoff | None = None) -> AsyncIterator[Output | Exit]:
        """Write `stdin` and close it (with `handoff`: once it is done, see Handoff), then
        yield the output as it comes and finally one Exit.

        The container is killed `time_limit` seconds from now whether or not the caller is
        still reading, and is removed when the generator ends (also when it is cancelled).
        With `mark`, the boot command ends its output with a trailer (the end marker on both
        streams, the exit code, the output files): the Exit then comes from the trailer, with
        no wait for the engine to tear the container down, unless the code says a signal
        ended the program (then the engine's word on OOM and on stops from outside counts).
        `on_exit` is called as soon as the container has ended, even while the caller is
        still held up with earlier output (a run's slot is its container's, not its client's);
        when the run has ended but its container may still be exiting, with the future of its
        stop (the removal waits for it, or kills the container).

        Output is read ahead of the caller: up to READ_AHEAD_BYTES while the program runs (a
        caller that lags holds the program back), all of it once the deadline is past. The
        engine keeps a container whose output is unread from ending: no exit, and its kill,
        inspect and wait hang. So a client that stops reading must never hold the engine.
        """
        if self._used:
            raise RuntimeError("a container is fed once")
        self._used = True
        timed_out = asyncio.Event()
        started = time.monotonic()
        fed_at = time.time()
        ahead = ReadAhead(self.channel, timed_out, handoff)

        async def kill_at_deadline() -> None:
            await asyncio.sleep(time_limit)
            timed_out.set()
            ahead.wake()  # read the rest, so the engine can end the container
            with contextlib.suppress(EngineError):
                await self.engine.kill(self.id)

        # The cgroup goes with the container: keep the high-water mark read while it runs.
        peak: int | None = None

        async def watch_memory() -> None:
            nonlocal peak
            while True:
                peak = memory_peak(self.id) or peak
                await asyncio.sleep(PEAK_INTERVAL)

        # The engine's word on the container's end, asked for when the exit code is needed, or
        # when the output has ended but the caller lags behind it (then `on_exit` frees the
        # run's slot the moment the container is gone, however slowly the rest is read).
        exited: asyncio.Future[int | None] | None = None
        lag_timer: asyncio.TimerHandle | None = None

        def wait_exit() -> asyncio.Future[int | None]:
            nonlocal exited
            if exited is None:
                exited = asyncio.ensure_future(self.engine.wait(self.id))
                exited.add_done_callback(_ended(on_exit))
            return exited

        def output_ended() -> None:
            nonlocal lag_timer
            if on_exit is not None:
                lag_timer = asyncio.get_running_loop().call_later(LAG_GRACE, wait_exit)

        ahead.at_end = output_ended
        watchdog = asyncio.create_task(kill_at_deadline())
        watcher = asyncio.create_task(watch_memory())
        reader: asyncio.Task[None] | None = None
        ended = False  # the container is exiting (its trailer came) or has exited
        try:
            if not self.alive:
                raise EngineError("The container's streams were closed before the run")
            with engine_errors():
                if stdin:
                    await self.channel.write(stdin)
                if handoff is None:
                    self.channel.close_input()
                scanners = {1: EndScanner(mark), 2: EndScanner(mark)} if mark else {}
                trailer: Trailer | None = None
                reader = asyncio.create_task(ahead.run())
                while True:
                    message = await ahead.next()
                    if message is None:
                        peak = memory_peak(self.id) or peak
                        break
                    if not scanners:
                        yield message
                        continue
                    data = scanners[2 if message.stream == 2 else 1].feed(message.data)
                    if data:
                        yield Output(message.stream, data)
                    trailer = read_trailer(scanners[1], scanners[2])
                    if trailer is not None:
                        peak = memory_peak(self.id) or peak
                        break
                for stream, scanner in scanners.items():
                    if not scanner.done and (held := scanner.flush()):
                        yield Output(stream, held)
            files = b""
            killed = timed_out.is_set()
            if trailer is not None and trailer.code <= 128 and not killed:
                code: int | None = trailer.code
                files = trailer.files
            else:
                # No trailer (the container was killed, or the program ended by a signal):
                # the engine's wait answers with the container's exit code.
                code = await asyncio.wait_for(asyncio.shield(wait_exit()),
                                              time_limit + EXIT_GRACE)
                if trailer is not None:
                    files = trailer.files
            killed = timed_out.is_set()
            ended = True
            # The kernel's count in the trailer, where there is one; else the engine's flag.
            kills = trailer.oom_kills if trailer is not None else None
            oom = code == KILLED and not killed and (
                kills > 0 if kills is not None else await self.engine.oom_killed(self.id))
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
                files=files,
            )
        except TimeoutError as exc:
            raise EngineError("The Docker engine did not report the container's exit") from exc
        finally:
            watchdog.cancel()
            watcher.cancel()
            if lag_timer is not None:
                lag_timer.cancel()
            if exited is not None:
                exited.cancel()
            if reader is not None:
                reader.cancel()
            ahead.cancel()
            with contextlib.suppress(Exception):
                self.channel.close()
            stopped = self.engine.remove_soon(self.id, stopping=ended)
            if ended and on_exit is not None:
                on_exit(stopped)


def _ended(on_exit: OnExit | None) -> Callable[[asyncio.Future[Any]], None]:
    """The done callback of a container's wait: tell `on_exit` (also when the wait failed or
    was cancelled because the run ended otherwise), and consume a failure nobody awaited."""

    def callback(wait: asyncio.Future[Any]) -> None:
        if not wait.cancelled():
            wait.exception()
        if on_exit is not None:
            on_exit()

    return callback
