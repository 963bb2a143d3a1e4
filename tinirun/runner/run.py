"""One run of code in a fresh container: the chunks a client sees, from image to result.

`Runner.prepare` checks a request (raising InvalidRequestError before anything starts);
`Runner.run` yields the run as chunks and always ends with one `result` or one `error`.
"""

from __future__ import annotations

import codecs
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
from tinirun.engine.docker import Attached, Engine, Exit, Handoff, OnExit, Output
from tinirun.errors import EngineError, InvalidRequestError
from tinirun.failures import error_data
from tinirun.labels import KIND, Kind
from tinirun.languages import Language, all_languages, get_language
from tinirun.models import (
    MAX_STREAM_BYTES,
    RESULT_CAP_BYTES,
    Chunk,
    ChunkEvent,
    RunLimits,
    RunRequest,
    RunResult,
)
from tinirun.runner import boot, outputs
from tinirun.runner.boot import Payload
from tinirun.runner.budget import StreamBudget
from tinirun.runner.images import ImageManager
from tinirun.runner.pool import WarmPool
from tinirun.runner.runtimes import ImageReady
from tinirun.validation import validate_dependencies, validate_files

BOOT_COMMAND = boot.SHELL_BOOT
STDIN_FILE = boot.STDIN_FILE
# The info chunk said just before the program's container starts (a cluster node marks the
# run started there: from then on it is never run again elsewhere).
STARTING = "Starting container..."
# The CPU quota of a one-off run's compile step, when its own is smaller (RUNNER_COMPILE_CPUS).
COMPILE_CPUS = 1.0


@dataclass(frozen=True)
class PreparedRun:
    """A checked one-off run: everything needed to start it."""

    language: Language
    code: str
    dependencies: list[str]
    files: list[tuple[str, bytes]]
    limits: RunLimits
    stdin: str | None = None
    args: tuple[str, ...] = ()
    output_globs: tuple[str, ...] = outputs.DEFAULT_GLOBS
    typecheck: bool = False


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


def payload(prepared: PreparedRun, handoff: bool = False, prestarted: bool = False) -> Payload:
    """What a one-off run is fed: code, attached files, the run script (with `handoff`, one
    that waits after the compile step for the run's own CPU quota; with `prestarted`, one for
    a container booted with `boot.prestart_boot`), its arguments."""
    language = prepared.language
    source = boot.SOURCE_FILE if prestarted else language.source
    entries: dict[str, bytes] = {source: prepared.code.encode()}
    for name, text in language.files.items():
        entries[name] = text.encode()
    for path, content in prepared.files:
        entries[f"files/{path}"] = content
    return boot.pack(entries, boot.run_script(language, prepared.args,
                                              typecheck=prepared.typecheck, handoff=handoff,
                                              prestarted=prestarted),
                     prepared.limits.timeout, prepared.stdin, prepared.args,
                     boot.output_roots(prepared.output_globs),
                     boot.prepare_script(language, prepared.typecheck),
                     boot.compile_argv(language) or ())


def prestarts(language: Language, dependencies: bool) -> bool:
    """Whether one-off runs of `language` (with or without `dependencies`) find their compiler
    pre-started (the language's `prestart`, for runs without dependencies)."""
    return bool(language.spec.prestart) and not dependencies


def pack(entries: Mapping[str, bytes], script: str, timeout: int, stdin: str | None) -> bytes:
    """A payload's bytes (see boot.pack), for callers that read the raw output."""
    return boot.pack(entries, script, timeout, stdin).data


class Runner:
    """Runs code in containers; created once per service with its engine, images and pool."""

    def __init__(self, engine: Engine, images: ImageManager, isolation: Isolation,
                 pool: WarmPool, max_stream_bytes: int = MAX_STREAM_BYTES,
                 output_caps: tuple[int, int] = (outputs.MAX_OUTPUT_FILES,
                                                 outputs.MAX_OUTPUT_BYTES),
                 compile_cpus: float = COMPILE_CPUS) -> None:
        self.engine = engine
        self.compile_cpus = compile_cpus
        self.output_caps = output_caps
        self.images = images
        self.isolation = isolation
        self.pool = pool
        self.max_stream_bytes = max_stream_bytes

    def prepare(self, request: RunRequest) -> PreparedRun:
        """Check a one-off request; InvalidRequestError names what is wrong."""
        language = get_language(request.lang.value)
        if request.typecheck and not language.spec.typecheck:
            checked = [lang.name for lang in all_languages().values() if lang.spec.typecheck]
            raise InvalidRequestError(f"typecheck: {language.name} has no type check (only "
                                      f"{', '.join(checked) or 'none'})")
        dependencies = validate_dependencies(language, request.dependencies)
        self.images.check_installs(dependencies)
        return PreparedRun(
            language=language,
            code=request.code,
            dependencies=dependencies,
            files=validate_files(request.files),
            limits=RunLimits(
                timeout=request.timeout,
                mem_limit_mb=request.mem_limit_mb,
                cpu_limit=request.cpu_limit,
            ),
            stdin=request.stdin,
            args=tuple(request.args or ()),
            output_globs=tuple(request.output_globs or outputs.DEFAULT_GLOBS),
            typecheck=request.typecheck,
        )

    async def run(self, prepared: PreparedRun,
                  on_exit: OnExit | None = None) -> AsyncIterator[Chunk]:
        """The whole one-off run as chunks, ending with one `result` or one `error`;
        `on_exit` is called when its container has ended (see `execute`)."""
        language = prepared.language
        yield Chunk.info("Checking base image...")
        image: str | None = None
        try:
            async for item in self.images.ensure_dependencies(language, prepared.dependencies):
                if isinstance(item, ImageReady):
                    image = item.tag
                else:
                    yield item
        except EngineError as exc:  # a failed install (BuildError) included
            yield Chunk.error(error_data(exc))
            return
        assert image is not None
        compile_cpu = self.compile_cpu(language, prepared.limits.cpu_limit)
        command = self.boot_for(language, dependencies=bool(prepared.dependencies))
        stdin = payload(prepared, handoff=compile_cpu is not None,
                        prestarted=prestarts(language, bool(prepared.dependencies)))
        async for chunk in self.execute(image, language.env, stdin, prepared.limits, command,
                                        prepared.output_globs, on_exit, compiles=language):
            yield chunk

    def compile_cpu(self, language: Language, cpu_limit: float) -> float | None:
        """The CPU quota under which a one-off run of `language` with `cpu_limit` compiles,
        when it is more than `cpu_limit` (else None): RUNNER_COMPILE_CPUS, for a language that
        compiles in the shell boot. The original compiled in the image build, outside the run's
        limits; here the compile is part of the run, and only its CPU quota is larger (never
        more than a client may ask for the whole run). The program itself always runs under
        `cpu_limit`: the run script waits after the compile until the service has set it."""
        if not language.compile or (language.launcher is not None and language.launcher.compiles):
            return None
        cpu = max(self.compile_cpus, cpu_limit)
        if nano_cpus(cpu, self.isolation) <= nano_cpus(cpu_limit, self.isolation):
            return None
        return cpu

    def boot_for(self, language: Language, command: str | None = None,
                 dependencies: bool = False) -> list[str]:
        """The boot command of containers that run `command` (default: the snippet, with or
        without `dependencies`) of `language`: its launcher's, its pre-started compiler's
        (the snippet without dependencies), or the shell boot."""
        if command in (None, language.run) and prestarts(language, dependencies):
            return boot.prestart_boot(language) or boot.SHELL_BOOT
        return boot.launcher_boot(language, command or language.run) or boot.SHELL_BOOT

    def config_for(self, image: str, env: Mapping[str, str], limits: RunLimits,
                   command: list[str] | None = None,
                   cpu: float | None = None) -> dict[str, Any]:
        """The create body of a container of `image` that waits for a payload (with `cpu`,
        under that CPU quota instead of the limits')."""
        return container_config(
            image=image,
            command=command or boot.SHELL_BOOT,
            env=env,
            limits=Limits(memory_mb=limits.mem_limit_mb, cpu=cpu or limits.cpu_limit),
            isolation=self.isolation,
            labels={KIND: Kind.RUN},
        )

    def warm(self, image: str, env: Mapping[str, str], command: list[str] | None = None,
             size: int | None = None, compiles: Language | None = None) -> None:
        """Keep containers of `image` waiting (booted with `command`), default limits (with
        `compiles`, the one-off runs of that language: the compile step's CPU quota)."""
        cpu = None if compiles is None else self.compile_cpu(compiles, RunLimits().cpu_limit)
        self.pool.want(image, lambda: self.config_for(image, env, RunLimits(), command, cpu),
                       size)

    async def _container(self, image: str, env: Mapping[str, str], limits: RunLimits,
                         command: list[str] | None, compiles: Language | None,
                         cpu: float) -> tuple[Attached, str]:
        """A container for this run, under the CPU quota `cpu`: a warm one (limits updated if
        they differ) or a fresh one, and a line that says which."""
        attached = self.pool.take(image)
        self.warm(image, env, command, compiles=compiles)
        if attached is not None:
            memory = memory_bytes(limits.mem_limit_mb)
            cpus = nano_cpus(cpu, self.isolation)
            if (memory, cpus) == (attached.memory, attached.nano_cpus):
                return attached, "Using a warm container"
            try:
                await attached.update_limits(memory, cpus)
                return attached, "Using a warm container (limits updated)"
            except EngineError:
                attached.discard()
        fresh = await self.engine.start(self.config_for(image, env, limits, command, cpu))
        return fresh, "Using a fresh container"

    async def execute(self, image: str, env: Mapping[str, str], stdin: Payload,
                      limits: RunLimits, command: list[str] | None = None,
                      output_globs: tuple[str, ...] = (),
                      on_exit: OnExit | None = None,
                      compiles: Language | None = None) -> AsyncIterator[Chunk]:
        """Run one payload in a container of `image` (booted with `command`); yield its
        output, then its result with the files matching `output_globs` (or a `docker`
        error). `on_exit` is called the moment the container has ended, even if the output
        is still on its way to a slow client (the gate frees the run's slot). With
        `compiles` (a one-off run of that language, whose payload hands off after its compile
        step when `compile_cpu` says so), the compile runs under the larger quota and the
        program under the run's own."""
        yield Chunk.info(STARTING)
        compile_cpu = None if compiles is None else self.compile_cpu(compiles, limits.cpu_limit)
        try:
            attached, how = await self._container(image, env, limits, command, compiles,
                                                  compile_cpu or limits.cpu_limit)
        except EngineError as exc:
            yield Chunk.error(error_data(exc))
            return
        handoff = None
        if compile_cpu is not None:
            memory = memory_bytes(limits.mem_limit_mb)
            run_cpus = nano_cpus(limits.cpu_limit, self.isolation)
            handoff = Handoff(boot.compiled_marker(stdin.nonce),
                              lambda: attached.update_limits(memory, run_cpus))
        yield Chunk.info(how)
        yield Chunk.debug(f"Using container {attached.id[:12]}")  # ids are for operators
        streams = {1: _Collected(), 2: _Collected()}
        events = {1: ChunkEvent.STDOUT, 2: ChunkEvent.STDERR}
        ended: Exit | None = None
        budget = StreamBudget(self.max_stream_bytes)
        try:
            async for item in attached.feed(stdin.data, time_limit=limits.timeout,
                                            mark=boot.marker(stdin.nonce), on_exit=on_exit,
                                            handoff=handoff):
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
            yield Chunk.error(error_data(exc))
            return
        for stream, collected in streams.items():
            tail = collected.decode(b"", final=True)
            if tail:
                collected.keep(tail)
                yield Chunk(event=events[stream], data=tail)
        assert ended is not None
        files = outputs.collect(ended.files, output_globs, *self.output_caps)
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
                output_files=files.files,
                output_files_truncated=files.truncated,
                output_files_omitted=files.omitted,
            )
        )
