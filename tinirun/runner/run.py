"""One run of code in a fresh container: the chunks a client sees, from image to result.

`Runner.prepare` checks a request (raising InvalidRequestError before anything starts);
`Runner.run` yields the run as chunks and always ends with one `result` or one `error`.
"""

from __future__ import annotations

import codecs
import io
import shlex
import tarfile
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

from tinirun.engine.container import Isolation, Limits, container_config
from tinirun.engine.docker import Engine, Exit, Output
from tinirun.errors import BuildError, EngineError
from tinirun.languages import Language, get_language
from tinirun.models import (
    RESULT_CAP_BYTES,
    Chunk,
    ChunkEvent,
    ErrorData,
    ErrorKind,
    RunLimits,
    RunRequest,
    RunResult,
)
from tinirun.runner.images import ImageManager, ImageReady
from tinirun.validation import validate_dependencies, validate_files

SCRIPT = ".tinirun/run.sh"
STDIN_FILE = ".tinirun/stdin"
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
    entries[SCRIPT] = run_script(language, prepared.stdin is not None).encode()
    if prepared.stdin is not None:
        entries[STDIN_FILE] = prepared.stdin.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        dirs: set[str] = set()
        for name, data in entries.items():
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


def boot_command(timeout: int) -> list[str]:
    """The container's command: unpack the payload from stdin, then run the script."""
    inner = timeout + INNER_TIMEOUT_SLACK
    return [
        "/bin/sh", "-c",
        f"tar -x -f - && exec timeout -k 2 {inner} /bin/sh {shlex.quote(SCRIPT)}",
    ]


class Runner:
    """Runs code in containers; created once per service with its engine and image manager."""

    def __init__(self, engine: Engine, images: ImageManager, isolation: Isolation) -> None:
        self.engine = engine
        self.images = images
        self.isolation = isolation

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
        env = dict(language.env)
        async for chunk in self.execute(
            image=image,
            command=boot_command(prepared.limits.timeout),
            env=env,
            stdin=payload(prepared),
            limits=prepared.limits,
            labels={"tinirun.kind": "run", "tinirun.lang": language.name},
        ):
            yield chunk

    async def execute(
        self,
        image: str,
        command: list[str],
        env: Mapping[str, str],
        stdin: bytes,
        limits: RunLimits,
        labels: Mapping[str, str],
        work_dir: bool = True,
    ) -> AsyncIterator[Chunk]:
        """Run one container and yield its output, then its result (or a `docker` error)."""
        config = container_config(
            image=image,
            command=command,
            env=env,
            limits=Limits(memory_mb=limits.mem_limit_mb, cpu=limits.cpu_limit),
            isolation=self.isolation,
            labels=labels,
            work_dir=work_dir,
        )
        yield Chunk.info("Starting container...")
        streams = {1: _Collected(), 2: _Collected()}
        events = {1: ChunkEvent.STDOUT, 2: ChunkEvent.STDERR}
        ended: Exit | None = None
        try:
            async for item in self.engine.run(config, stdin, time_limit=limits.timeout):
                if isinstance(item, Output):
                    stream = 2 if item.stream == 2 else 1
                    text = streams[stream].decode(item.data)
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
            )
        )


def final_result(chunks: Sequence[Chunk]) -> Chunk | None:
    """The `result` or `error` chunk that ends a stream, if any."""
    for chunk in reversed(chunks):
        if chunk.event in (ChunkEvent.RESULT, ChunkEvent.ERROR):
            return chunk
    return None
