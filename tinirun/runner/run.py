"""One run of code in a fresh container: the chunks a client sees, from image to result.

`Runner.prepare` checks a request (raising InvalidRequestError before anything starts);
`Runner.run` yields the run as chunks and always ends with one `result` or one `error`.
"""

from __future__ import annotations

import codecs
import io
import tarfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tinirun.engine.container import (
    Isolation,
    Limits,
    container_config,
    memory_bytes,
    nano_cpus,
)
from tinirun.engine.docker import Attached, Engine, Exit, Output
from tinirun.errors import BuildError, EngineError
from tinirun.labels import KIND, Kind
from tinirun.languages import Language, get_language
from tinirun.models import (
    MAX_STREAM_BYTES,
    RESULT_CAP_BYTES,
    Chunk,
    ChunkEvent,
    ErrorData,
    ErrorKind,
    RunLimits,
    RunRequest,
    RunResult,
)
from tinirun.runner.budget import StreamBudget
from tinirun.runner.images import ImageManager, ImageReady
from tinirun.runner.pool import WarmPool
from tinirun.validation import validate_dependencies, validate_files

SCRIPT = ".tinirun/run.sh"
STDIN_FILE = ".tinirun/stdin"
TIMEOUT_FILE = ".tinirun/timeout"
# The in-container timeout is a second line of defence (it holds even if the service dies);
# the service kills the container at the deadline itself.
INNER_TIMEOUT_SLACK = 2


@dataclass(frozen=True)
class PreparedRun:
    """A checked one-off run: everything needed to start it."""

    language: Language
    code: str
    dependencies: list[str]
    files: list[tuple[str, bytes]]
    limits: RunLimits
    stdin: str | None = None


@dataclass
class _Collected:
    """Accumulated output of one stream, capped for the result, decoded as UTF-8."""

    parts: list[str] = field(default_factory=list)
    size: int = 0
    truncated: bool = False
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )

    def decode(self, data: bytes, final: bool = False) -> str:
        return self.decoder.decode(data, final)

    def keep(self, text: str) -> None:
        if self.size >= RESULT_CAP_BYTES:
            self.truncated = self.truncated or bool(text)
            return
        encoded = text.encode()
        room = RESULT_CAP_BYTES - self.size
        if len(encoded) > room:
            text = encoded[:room].decode(errors="ignore")
            self.truncated = True
        self.parts.append(text)
        self.size += len(text.encode())

    @property
    def text(self) -> str:
        return "".join(self.parts)


def run_script(language: Language, has_stdin: bool) -> str:
    """The shell script that compiles (if the language does) and runs the snippet."""
    lines = ["#!/bin/sh"]
    if language.compile:
        lines.append(f"( {language.compile} ) || exit $?")
    source = STDIN_FILE if has_stdin else "/dev/null"
    lines.append(f"exec {language.run} < {source}")
    return "\n".join(lines) + "\n"


def payload(prepared: PreparedRun) -> bytes:
    """The tar written to the container's stdin: code, attached files and the run script."""
    language = prepared.language
    entries: dict[str, bytes] = {language.source: prepared.code.encode()}
    for name, text in language.files.items():
        entries[name] = text.encode()
    for path, content in prepared.files:
        entries[f"files/{path}"] = content
    return pack(entries, run_script(language, prepared.stdin is not None),
                prepared.limits.timeout, prepared.stdin)


def pack(entries: Mapping[str, bytes], script: str, timeout: int, stdin: str | None) -> bytes:
    """A tar of `entries` plus the run script, its time limit and its standard input."""
    files = dict(entries)
    files[SCRIPT] = script.encode()
    files[TIMEOUT_FILE] = f"{timeout + INNER_TIMEOUT_SLACK}\n".encode()
    if stdin is not None:
        files[STDIN_FILE] = stdin.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        dirs: set[str] = set()
        for name, data in files.items():
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                directory = "/".join(parts[:i])
                if directory not in dirs:
                    dirs.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# The command of every container that runs user code: unpack the payload from stdin, then run
# its script under `timeout -k` with the limit the payload carries. The same for every run, so
# containers can be started before the code is known.
BOOT_COMMAND = [
    "/bin/sh", "-c",
    f'tar -x -f - && exec timeout -k 2 "$(cat {TIMEOUT_FILE})" /bin/sh {SCRIPT}',
]


class Runner:
    """Runs code in containers; created once per service with its engine, images and pool."""

    def __init__(self, engine: Engine, images: ImageManager, isolation: Isolation,
                 pool: WarmPool, max_stream_bytes: int = MAX_STREAM_BYTES) -> None:
        self.engine = engine
        self.images = images
        self.isolation = isolation
        self.pool = pool
        self.max_stream_bytes = max_stream_bytes

    def prepare(self, request: RunRequest) -> PreparedRun:
        """Check a one-off request; InvalidRequestError names what is wrong."""
        language = get_language(request.lang.value)
        return PreparedRun(
            language=language,
            code=request.code,
            dependencies=validate_dependencies(language, request.dependencies),
            files=validate_files(request.files),
            limits=RunLimits(
                timeout=request.timeout,
                mem_limit_mb=request.mem_limit_mb,
                cpu_limit=request.cpu_limit,
            ),
            stdin=request.stdin,
        )

    async def run(self, prepared: PreparedRun) -> AsyncIterator[Chunk]:
        """The whole one-off run as chunks, ending with one `result` or one `error`."""
        language = prepared.language
        yield Chunk.info("Checking base image...")
        image: str | None = None
        try:
            async for item in self.images.ensure_dependencies(language, prepared.dependencies):
                if isinstance(item, ImageReady):
                    image = item.tag
                else:
                    yield item
        except BuildError as exc:
            yield Chunk.error(ErrorData(error=ErrorKind.BUILD_FAILED, message=str(exc),
                                        logs=exc.logs))
            return
        except EngineError as exc:
            yield Chunk.error(ErrorData(error=ErrorKind.DOCKER, message=str(exc)))
            return
        assert image is not None
        async for chunk in self.execute(image, language.env, payload(prepared), prepared.limits):
            yield chunk

    def config_for(self, image: str, env: Mapping[str, str], limits: RunLimits) -> dict[str, Any]:
        """The create body of a container of `image` that waits for a payload."""
        return container_config(
            image=image,
            command=BOOT_COMMAND,
            env=env,
            limits=Limits(memory_mb=limits.mem_limit_mb, cpu=limits.cpu_limit),
            isolation=self.isolation,
            labels={KIND: Kind.RUN},
        )

    def warm(self, image: str, env: Mapping[str, str], size: int | None = None) -> None:
        """Keep containers of `image` waiting, with the default limits."""
        self.pool.want(image, lambda: self.config_for(image, env, RunLimits()), size)

    async def _container(self, image: str, env: Mapping[str, str],
                         limits: RunLimits) -> tuple[Attached, str]:
        """A container for this run: a warm one (limits updated if they differ) or a fresh one,
        and a line that says which."""
        attached = self.pool.take(image)
        self.warm(image, env)
        if attached is not None:
            memory = memory_bytes(limits.mem_limit_mb)
            cpus = nano_cpus(limits.cpu_limit, self.isolation)
            if (memory, cpus) == (attached.memory, attached.nano_cpus):
                return attached, f"Using a warm container {attached.id[:12]}"
            try:
                await attached.update_limits(memory, cpus)
                return attached, f"Using a warm container {attached.id[:12]} (limits updated)"
            except EngineError:
                attached.discard()
        fresh = await self.engine.start(self.config_for(image, env, limits))
        return fresh, f"Using a fresh container {fresh.id[:12]}"

    async def execute(self, image: str, env: Mapping[str, str], stdin: bytes,
                      limits: RunLimits) -> AsyncIterator[Chunk]:
        """Run one payload in a container of `image`; yield its output, then its result (or a
        `docker` error)."""
        yield Chunk.info("Starting container...")
        try:
            attached, how = await self._container(image, env, limits)
        except EngineError as exc:
            yield Chunk.error(ErrorData(error=ErrorKind.DOCKER, message=str(exc)))
            return
        yield Chunk.info(how)
        streams = {1: _Collected(), 2: _Collected()}
        events = {1: ChunkEvent.STDOUT, 2: ChunkEvent.STDERR}
        ended: Exit | None = None
        budget = StreamBudget(self.max_stream_bytes)
        try:
            async for item in attached.feed(stdin, time_limit=limits.timeout):
                if isinstance(item, Output):
                    stream = 2 if item.stream == 2 else 1
                    data = budget.admit(item.data)
                    if len(data) < len(item.data):
                        streams[stream].truncated = True
                        notice = budget.announce()
                        if notice:
                            yield Chunk.info(notice)
                    text = streams[stream].decode(data)
                    if text:
                        streams[stream].keep(text)
                        yield Chunk(event=events[stream], data=text)
                else:
                    ended = item
        except EngineError as exc:
            yield Chunk.error(ErrorData(error=ErrorKind.DOCKER, message=str(exc)))
            return
        for stream, collected in streams.items():
            tail = collected.decode(b"", final=True)
            if tail:
                collected.keep(tail)
                yield Chunk(event=events[stream], data=tail)
        assert ended is not None
        yield Chunk.result(
            RunResult(
                stdout=streams[1].text,
                stderr=streams[2].text,
                exit_code=ended.exit_code,
                timeout=ended.timed_out,
                duration_ms=ended.duration_ms,
                stdout_truncated=streams[1].truncated,
                stderr_truncated=streams[2].truncated,
                oom_killed=ended.oom_killed,
                memory_peak_bytes=ended.memory_peak_bytes,
            )
        )
