"""Typed chunks of a stream and the answers of the API, read from JSON with no library.

Each chunk kind is a `Chunk` whose `data` has one type, so `isinstance` (or `match`) narrows
it: `ResultChunk.data` is a `RunResult`, `ErrorChunk.data` an `ErrorData`, the rest `str`.
Names the service may add to (a language, an error kind, a status) are plain strings, so a
newer service never makes this client raise; fields it does not know are ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from tinirun_client._exceptions import ProtocolError

__all__ = [
    "AnyChunk", "Chunk", "ChunkEvent", "DebugChunk", "Dependencies", "Diagnostic", "ErrorChunk",
    "ErrorData", "ErrorKind", "FunctionDetail", "FunctionInfo", "FunctionListItem",
    "FunctionStatus", "InfoChunk", "LanguageInfo", "OutputFile", "ResultChunk", "RunResult",
    "StderrChunk", "StdoutChunk", "list_of", "parse_chunk", "parse_json",
]

Json = Mapping[str, Any]


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


class _Bad(Exception):
    """A value of the wrong type, somewhere in an answer."""


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _get(data: Json, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """`data[key]` when it is of `kind`; `default` when it is missing or null (if given)."""
    if key not in data or (data[key] is None and default is not ...):
        if default is ...:
            raise _Bad(f"no {key!r}")
        return default
    value = data[key]
    # bool is an int: a count must not be true or false.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise _Bad(f"{key!r} is {type(value).__name__}")
    return value


def _object(value: Any, what: str) -> Json:
    if not isinstance(value, Mapping):
        raise _Bad(f"{what} is not an object")
    return value


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
            content = base64.b64decode(_get(data, "content", str), validate=True)
        except binascii.Error as exc:
            raise _Bad("an output file's content is not base64") from exc
        return cls(path=_get(data, "path", str), size=_get(data, "size", int, len(content)),
                   media_type=_get(data, "media_type", str, "application/octet-stream"),
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
        data = _object(data, "the result")
        files = _get(data, "output_files", list, [])
        omitted = _get(data, "output_files_omitted", list, [])
        if not all(isinstance(path, str) for path in omitted):
            raise _Bad("'output_files_omitted' holds a non-string")
        return cls(
            stdout=_get(data, "stdout", str), stderr=_get(data, "stderr", str),
            exit_code=_get(data, "exit_code", int, None), timeout=_get(data, "timeout", bool),
            duration_ms=_get(data, "duration_ms", int, None),
            stdout_truncated=_get(data, "stdout_truncated", bool, False),
            stderr_truncated=_get(data, "stderr_truncated", bool, False),
            oom_killed=_get(data, "oom_killed", bool, False),
            memory_peak_bytes=_get(data, "memory_peak_bytes", int, None),
            output_files=tuple(OutputFile.from_json(_object(f, "an output file")) for f in files),
            output_files_truncated=_get(data, "output_files_truncated", bool, False),
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
        data = _object(data, "the error")
        return cls(error=_get(data, "error", str), message=_get(data, "message", str, ""),
                   logs=_get(data, "logs", str, None), image_tag=_get(data, "image_tag", str, None),
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
class InfoChunk(Chunk):
    """Progress of the service: image checks and builds, queue place, container start."""

    event: ClassVar[ChunkEvent] = ChunkEvent.INFO
    data: str


@dataclass(frozen=True)
class DebugChunk(Chunk):
    """A line of an image build's log, or a detail of the service's own."""

    event: ClassVar[ChunkEvent] = ChunkEvent.DEBUG
    data: str


@dataclass(frozen=True)
class StdoutChunk(Chunk):
    """Output of the program, as it is produced."""

    event: ClassVar[ChunkEvent] = ChunkEvent.STDOUT
    data: str


@dataclass(frozen=True)
class StderrChunk(Chunk):
    """Error output of the program, as it is produced."""

    event: ClassVar[ChunkEvent] = ChunkEvent.STDERR
    data: str


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


@dataclass(frozen=True, kw_only=True)
class FunctionStatus:
    """A function's build status. `type` is `not_built`, `building`, `error` (with `error`,
    `message`, `logs`) or `ready` (with the image's `tag` and `id`)."""

    type: str
    tag: str | None = None
    id: str | None = None
    error: str | None = None
    message: str | None = None
    logs: str | None = None

    @classmethod
    def from_json(cls, data: Json) -> FunctionStatus:
        data = _object(data, "the status")
        return cls(type=_get(data, "type", str), tag=_get(data, "tag", str, None),
                   id=_get(data, "id", str, None), error=_get(data, "error", str, None),
                   message=_get(data, "message", str, None), logs=_get(data, "logs", str, None))


def _info_fields(data: Json) -> dict[str, Any]:
    version = _get(data, "version", (str, int))
    if isinstance(version, str) and not version.isdigit():
        raise _Bad(f"'version' is {version!r}")
    return {
        "lang": _get(data, "lang", str), "description": _get(data, "description", str, None),
        "status": FunctionStatus.from_json(_get(data, "status", Mapping)),
        "created_at": _get(data, "created_at", str), "updated_at": _get(data, "updated_at", str),
        "version": int(version), "raw": data,
    }


@dataclass(frozen=True, kw_only=True)
class FunctionInfo:
    """What the service knows of a function, without its code. `lang` is the language's
    name as the service gives it; `version` goes up by one per update."""

    lang: str
    status: FunctionStatus
    created_at: str
    updated_at: str
    version: int
    description: str | None = None
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> FunctionInfo:
        return cls(**_info_fields(_object(data, "the function's info")))

    def to_json(self) -> dict[str, Any]:
        """The info as the service sent it."""
        return dict(self.raw)


@dataclass(frozen=True, kw_only=True)
class FunctionDetail(FunctionInfo):
    """FunctionInfo plus the code and the dependencies (one space-separated string)."""

    code: str
    dependencies: str | None = None

    @classmethod
    def from_json(cls, data: Json) -> FunctionDetail:
        data = _object(data, "the function's detail")
        return cls(**_info_fields(data), code=_get(data, "code", str),
                   dependencies=_get(data, "dependencies", str, None))


@dataclass(frozen=True, kw_only=True)
class FunctionListItem:
    """One function of the list: its name and info."""

    name: str
    info: FunctionInfo

    @classmethod
    def from_json(cls, data: Json) -> FunctionListItem:
        data = _object(data, "a list item")
        return cls(name=_get(data, "name", str),
                   info=FunctionInfo.from_json(_get(data, "info", Mapping)))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "info": self.info.to_json()}


@dataclass(frozen=True, kw_only=True)
class Dependencies:
    """How a language installs dependencies: its package `manager` and the `syntax` of one."""

    manager: str
    syntax: str


@dataclass(frozen=True, kw_only=True)
class Diagnostic:
    """How to find a compiler's or interpreter's message in a run's output: a Python regular
    expression for one line, with named groups `line` and maybe `column`, `message`,
    `severity`, `file`. A `message_pattern` names the message on the nearest line before or
    after (`message_at`); `severity` is the default one; `column_base` 0 when columns count
    from 0 (docs/languages.md says how they are applied)."""

    pattern: str
    message_pattern: str = ""
    message_at: str = "after"
    severity: str = "error"
    column_base: int = 1

    @classmethod
    def from_json(cls, data: Json) -> Diagnostic:
        return cls(pattern=_get(data, "pattern", str),
                   message_pattern=_get(data, "message_pattern", str, ""),
                   message_at=_get(data, "message_at", str, "after"),
                   severity=_get(data, "severity", str, "error"),
                   column_base=_get(data, "column_base", int, 1))


@dataclass(frozen=True, kw_only=True)
class LanguageInfo:
    """One language the service runs (GET /languages)."""

    name: str
    version: str
    extension: str
    source: str
    compiled: bool
    dependencies: Dependencies
    example: str
    diagnostics: tuple[Diagnostic, ...] = ()
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> LanguageInfo:
        data = _object(data, "a language")
        deps = _object(_get(data, "dependencies", Mapping, {}), "its dependencies")
        patterns = _get(data, "diagnostics", list, [])
        return cls(
            name=_get(data, "name", str), version=_get(data, "version", str, ""),
            extension=_get(data, "extension", str, ""), source=_get(data, "source", str, ""),
            compiled=_get(data, "compiled", bool, False),
            dependencies=Dependencies(manager=_get(deps, "manager", str, ""),
                                      syntax=_get(deps, "syntax", str, "")),
            example=_get(data, "example", str, ""),
            diagnostics=tuple(Diagnostic.from_json(_object(p, "a diagnostic")) for p in patterns),
            raw=data,
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.raw)


def parse_chunk(line: str | bytes) -> AnyChunk:
    """One NDJSON line as a typed chunk; ProtocolError when it is not one."""
    text = line.decode(errors="replace") if isinstance(line, bytes) else line
    try:
        data = _object(json.loads(text), "the chunk")
        event = _get(data, "event", str)
        if "data" not in data:
            raise _Bad("no 'data'")
        if event in _TEXT_CHUNKS:
            if not isinstance(data["data"], str):
                raise _Bad(f"the {event} chunk's data is not a string")
            return _TEXT_CHUNKS[event](data["data"])
        if event == "result":
            return ResultChunk(RunResult.from_json(data["data"]))
        if event == "error":
            return ErrorChunk(ErrorData.from_json(data["data"]))
        raise _Bad(f"unknown event {event!r}")
    except (ValueError, _Bad) as exc:
        raise ProtocolError(f"not a chunk: {text[:200]!r} ({exc})") from exc


T = TypeVar("T")


def parse_json(read: Callable[[Any], T], content: bytes) -> T:
    """An answer's body through `read` (a `from_json`); ProtocolError when it does not fit."""
    try:
        return read(json.loads(content))
    except (ValueError, _Bad) as exc:
        raise ProtocolError(f"unexpected answer: {content[:200]!r} ({exc})") from exc


def list_of(read: Callable[[Json], T]) -> Callable[[Any], list[T]]:
    """A reader of a JSON list whose items `read` reads."""
    def read_list(data: Any) -> list[T]:
        if not isinstance(data, list):
            raise _Bad("the answer is not a list")
        return [read(_object(item, "an item")) for item in data]
    return read_list
