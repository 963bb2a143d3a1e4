"""A run's end and the typed chunks of a stream.

Each chunk kind is a `Chunk` whose `data` has one type, so `isinstance` (or `match`) narrows
it: `ResultChunk.data` is a `RunResult`, `ErrorChunk.data` an `ErrorData`, the rest `str`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from tinirun_client._exceptions import ProtocolError
from tinirun_client._json import Json, ShapeError, get, object_of

__all__ = [
    "AnyChunk", "Chunk", "ChunkEvent", "DebugChunk", "ErrorChunk", "ErrorData", "ErrorKind",
    "InfoChunk", "OutputFile", "ResultChunk", "RunResult", "StderrChunk", "StdoutChunk",
    "parse_chunk",
]


class ChunkEvent(StrEnum):
    """The `event` of a chunk."""

    INFO = "info"
    DEBUG = "debug"
    STDOUT = "stdout"
    STDERR = "stderr"
    RESULT = "result"
    ERROR = "error"


class ErrorKind(StrEnum):
    """The kinds of `error` chunk the API names today (`ErrorData.error` is a plain string)."""

    BUILD_FAILED = "build_failed"
    DOCKER = "docker"
    FUNCTION_IMAGE_NOT_FOUND = "function_image_not_found"


@dataclass(frozen=True, kw_only=True)
class OutputFile:
    """A file the program left under its output globs (./out/ by default), decoded."""

    path: str
    size: int
    media_type: str
    content: bytes

    @classmethod
    def from_json(cls, data: Json) -> OutputFile:
        try:
            content = base64.b64decode(get(data, "content", str), validate=True)
        except binascii.Error as exc:
            raise ShapeError("an output file's content is not base64") from exc
        return cls(path=get(data, "path", str), size=get(data, "size", int, len(content)),
                   media_type=get(data, "media_type", str, "application/octet-stream"),
                   content=content)


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """How a run ended. The program failing is a result: a non-zero `exit_code`, `timeout`."""

    stdout: str
    stderr: str
    exit_code: int | None
    timeout: bool
    duration_ms: int | None = None
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    oom_killed: bool = False
    memory_peak_bytes: int | None = None
    output_files: tuple[OutputFile, ...] = ()
    output_files_truncated: bool = False
    output_files_omitted: tuple[str, ...] = ()
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> RunResult:
        data = object_of(data, "the result")
        files = get(data, "output_files", list, [])
        omitted = get(data, "output_files_omitted", list, [])
        if not all(isinstance(path, str) for path in omitted):
            raise ShapeError("'output_files_omitted' holds a non-string")
        return cls(
            stdout=get(data, "stdout", str), stderr=get(data, "stderr", str),
            exit_code=get(data, "exit_code", int, None), timeout=get(data, "timeout", bool),
            duration_ms=get(data, "duration_ms", int, None),
            stdout_truncated=get(data, "stdout_truncated", bool, False),
            stderr_truncated=get(data, "stderr_truncated", bool, False),
            oom_killed=get(data, "oom_killed", bool, False),
            memory_peak_bytes=get(data, "memory_peak_bytes", int, None),
            output_files=tuple(OutputFile.from_json(object_of(f, "an output file")) for f in files),
            output_files_truncated=get(data, "output_files_truncated", bool, False),
            output_files_omitted=tuple(omitted), raw=data,
        )

    def to_json(self) -> dict[str, Any]:
        """The result as the service sent it."""
        return dict(self.raw)


@dataclass(frozen=True, kw_only=True)
class ErrorData:
    """Data of an `error` chunk: why a run or build could not start. `error` is one of
    `ErrorKind`'s values, or a kind this client does not know yet."""

    error: str
    message: str
    logs: str | None = None
    image_tag: str | None = None
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> ErrorData:
        data = object_of(data, "the error")
        return cls(error=get(data, "error", str), message=get(data, "message", str, ""),
                   logs=get(data, "logs", str, None), image_tag=get(data, "image_tag", str, None),
                   raw=data)


class Chunk:
    """One piece of a stream: `{"event": ..., "data": ...}`; see its subclasses."""

    event: ClassVar[ChunkEvent]

    def to_json(self) -> dict[str, Any]:
        """The chunk as the service sent it."""
        data: Any = getattr(self, "data")  # noqa: B009 (each subclass has its own type)
        if isinstance(data, RunResult | ErrorData):
            data = dict(data.raw)
        return {"event": self.event.value, "data": data}


@dataclass(frozen=True)
class _TextChunk(Chunk):
    """A chunk whose data is text; the four kinds differ only in their event."""

    data: str


class InfoChunk(_TextChunk):
    """Progress of the service: image checks and builds, queue place, container start."""

    event: ClassVar[ChunkEvent] = ChunkEvent.INFO


class DebugChunk(_TextChunk):
    """A line of an image build's log, or a detail of the service's own."""

    event: ClassVar[ChunkEvent] = ChunkEvent.DEBUG


class StdoutChunk(_TextChunk):
    """Output of the program, as it is produced."""

    event: ClassVar[ChunkEvent] = ChunkEvent.STDOUT


class StderrChunk(_TextChunk):
    """Error output of the program, as it is produced."""

    event: ClassVar[ChunkEvent] = ChunkEvent.STDERR


@dataclass(frozen=True)
class ResultChunk(Chunk):
    """The last chunk of a run that started: how it ended."""

    event: ClassVar[ChunkEvent] = ChunkEvent.RESULT
    data: RunResult


@dataclass(frozen=True)
class ErrorChunk(Chunk):
    """The last chunk of a run or build that could not start or finish."""

    event: ClassVar[ChunkEvent] = ChunkEvent.ERROR
    data: ErrorData


AnyChunk = InfoChunk | DebugChunk | StdoutChunk | StderrChunk | ResultChunk | ErrorChunk
_TEXT_CHUNKS: dict[str, type[InfoChunk | DebugChunk | StdoutChunk | StderrChunk]] = {
    "info": InfoChunk, "debug": DebugChunk, "stdout": StdoutChunk, "stderr": StderrChunk,
}


def parse_chunk(line: str | bytes) -> AnyChunk:
    """One NDJSON line as a typed chunk; ProtocolError when it is not one."""
    text = line.decode(errors="replace") if isinstance(line, bytes) else line
    try:
        data = object_of(json.loads(text), "the chunk")
        event = get(data, "event", str)
        if "data" not in data:
            raise ShapeError("no 'data'")
        if event in _TEXT_CHUNKS:
            if not isinstance(data["data"], str):
                raise ShapeError(f"the {event} chunk's data is not a string")
            return _TEXT_CHUNKS[event](data["data"])
        if event == "result":
            return ResultChunk(RunResult.from_json(data["data"]))
        if event == "error":
            return ErrorChunk(ErrorData.from_json(data["data"]))
        raise ShapeError(f"unknown event {event!r}")
    except (ValueError, ShapeError) as exc:
        raise ProtocolError(f"not a chunk: {text[:200]!r} ({exc})") from exc
