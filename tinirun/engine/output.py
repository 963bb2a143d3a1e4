"""The output side of a fed container: its stdout and stderr read ahead of the caller, the
end marker and trailer the boot command ends them with, and the handoff mark a compile step
may write before its program starts (see `attached.Attached.feed`)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from tinirun.engine.errors import engine_errors

# Output read ahead of a caller that lags, while the program runs (see `attached.Attached.feed`).
READ_AHEAD_BYTES = 256 * 1024
# Past the deadline the output is read whatever the caller's lag (the program is being
# killed), and kept for the caller up to this much; the rest is dropped.
DRAIN_CAP_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Output:
    """Bytes the program wrote; `stream` is 1 for stdout, 2 for stderr."""

    stream: int
    data: bytes


@dataclass(frozen=True)
class Handoff:
    """A run whose program must wait, with stdin held open, until the service has done
    something (set the run's own CPU quota after a compile under a larger one): the boot
    command writes `mark` on stderr and waits for a line on stdin; `then` runs when the mark
    is seen, and the line is sent when it has succeeded. If it fails, the run fails with its
    error and the program never starts."""

    mark: bytes
    then: Callable[[], Awaitable[None]]


class EndScanner:
    """Finds the end marker in one output stream: passes on what comes before it (holding
    back only a tail that could be the marker's start) and keeps what follows it."""

    def __init__(self, mark: bytes) -> None:
        self.mark = mark
        self.held = b""
        self.done = False
        self.after = b""

    def feed(self, data: bytes) -> bytes:
        if self.done:
            self.after += data
            return b""
        data = self.held + data
        self.held = b""
        at = data.find(self.mark)
        if at >= 0:
            self.done = True
            self.after = data[at + len(self.mark):]
            return data[:at]
        for size in range(min(len(self.mark) - 1, len(data)), 0, -1):
            if data.endswith(self.mark[:size]):
                self.held = data[-size:]
                return data[:-size]
        return data

    def flush(self) -> bytes:
        held, self.held = self.held, b""
        return held


class Trailer(NamedTuple):
    """What the boot shell sends once the program has ended."""

    code: int
    files: bytes
    # The OOM killer's kills in the run's memory cgroup; None where the cgroup does not say.
    oom_kills: int | None = None


def read_trailer(stdout: EndScanner, stderr: EndScanner) -> Trailer | None:
    """The exit code, the file tar and the OOM kill count once the whole trailer is in, else
    None."""
    if not (stdout.done and stderr.done):
        return None
    line, sep, rest = stderr.after.partition(b"\n")
    if not sep:
        return None
    try:
        numbers = [int(x) for x in line.split()]
    except ValueError:
        return None
    if len(numbers) not in (2, 3) or len(rest) < numbers[1]:
        return None
    return Trailer(numbers[0], rest[:numbers[1]], numbers[2] if len(numbers) == 3 else None)


class Channel(Protocol):
    """The attach connection of one container: its stdin, stdout and stderr."""

    @property
    def open(self) -> bool: ...

    async def write(self, data: bytes) -> None: ...

    def close_input(self) -> None: ...

    async def read(self) -> Output | None: ...

    def close(self) -> None: ...


class ReadAhead:
    """The output of one container, read by a task of its own ahead of the caller."""

    def __init__(self, channel: Channel, unbounded: asyncio.Event,
                 handoff: Handoff | None = None) -> None:
        self.channel = channel
        self.unbounded = unbounded  # set at the deadline: read everything
        self.pending: collections.deque[Output | BaseException | None] = collections.deque()
        self.buffered = 0
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self.at_end: Callable[[], None] = lambda: None
        # The handoff is watched for here, not by the caller, so a caller that lags does not
        # hold the program back at it.
        self.handoff = handoff
        self._handoff_scan = EndScanner(handoff.mark) if handoff else None
        self._handing_off: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._room.set()

    def cancel(self) -> None:
        if self._handing_off is not None:
            self._handing_off.cancel()

    def _watch(self, message: Output) -> Output:
        """`message` (of stderr) less the handoff mark and what could be its start; when the
        mark is in it, the handoff starts."""
        assert self._handoff_scan is not None
        scan = self._handoff_scan
        data = scan.feed(message.data)
        if scan.done:
            data += scan.after
            self._handoff_scan = None
            self._handing_off = asyncio.create_task(self._hand_off())
        return Output(2, data)

    async def _hand_off(self) -> None:
        assert self.handoff is not None
        try:
            await self.handoff.then()
            with engine_errors():
                await self.channel.write(b"\n")
        except Exception as exc:  # raised to the caller, where engine errors are mapped
            self.pending.append(exc)
            self._arrived.set()
            return
        finally:
            with contextlib.suppress(Exception):
                self.channel.close_input()

    async def run(self) -> None:
        try:
            while True:
                while self.buffered >= READ_AHEAD_BYTES and not self.unbounded.is_set():
                    self._room.clear()
                    await self._room.wait()
                message = await self.channel.read()
                if message is not None and self.buffered >= DRAIN_CAP_BYTES:
                    continue  # past the deadline, a caller this far behind loses the rest
                if message is None:
                    if self._handoff_scan is not None and (held := self._handoff_scan.flush()):
                        self.pending.append(Output(2, held))
                    self.pending.append(None)
                    self._arrived.set()
                    self.at_end()
                    return
                if self._handoff_scan is not None and message.stream == 2:
                    message = self._watch(message)
                    if not message.data:
                        continue  # all of it was (the start of) the handoff mark
                self.pending.append(message)
                self._arrived.set()
                self.buffered += len(message.data)
        except Exception as exc:  # raised to the caller, where engine errors are mapped
            self.pending.append(exc)
            self._arrived.set()

    async def next(self) -> Output | None:
        while not self.pending:
            self._arrived.clear()
            await self._arrived.wait()
        item = self.pending.popleft()
        if isinstance(item, BaseException):
            raise item
        if item is not None:
            self.buffered -= len(item.data)
            self._room.set()
        return item
