"""Typed chunks of a stream, and the service's models the client answers with.

The models are the service's own (`tinirun.models`), so both sides read and write one schema.
Each chunk kind is a `Chunk` whose `data` has one type, so `isinstance` (or `match`) narrows
it: `ResultChunk.data` is a `RunResult`, `ErrorChunk.data` an `ErrorData`, the rest `str`.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import Field, TypeAdapter
from pydantic import ValidationError as _PydanticValidationError

from tinirun.client._exceptions import ProtocolError
from tinirun.models import (
    Chunk,
    ChunkEvent,
    ErrorData,
    ErrorKind,
    FunctionDetail,
    FunctionInfo,
    FunctionListItem,
    RunResult,
)

__all__ = [
    "AnyChunk", "Chunk", "ChunkEvent", "DebugChunk", "ErrorChunk", "ErrorData", "ErrorKind",
    "FunctionDetail", "FunctionInfo", "FunctionListItem", "InfoChunk", "ResultChunk",
    "RunResult", "StderrChunk", "StdoutChunk", "parse_chunk", "parse_json",
]


class InfoChunk(Chunk):
    """Progress of the service: image checks and builds, queue place, container start."""

    event: Literal[ChunkEvent.INFO] = ChunkEvent.INFO
    data: str


class DebugChunk(Chunk):
    """A line of an image build's log."""

    event: Literal[ChunkEvent.DEBUG] = ChunkEvent.DEBUG
    data: str


class StdoutChunk(Chunk):
    """Output of the program, as it is produced."""

    event: Literal[ChunkEvent.STDOUT] = ChunkEvent.STDOUT
    data: str


class StderrChunk(Chunk):
    """Error output of the program, as it is produced."""

    event: Literal[ChunkEvent.STDERR] = ChunkEvent.STDERR
    data: str


class ResultChunk(Chunk):
    """The last chunk of a run that started: how it ended."""

    event: Literal[ChunkEvent.RESULT] = ChunkEvent.RESULT
    data: RunResult


class ErrorChunk(Chunk):
    """The last chunk of a run or build that could not start or finish."""

    event: Literal[ChunkEvent.ERROR] = ChunkEvent.ERROR
    data: ErrorData


AnyChunk = InfoChunk | DebugChunk | StdoutChunk | StderrChunk | ResultChunk | ErrorChunk

_CHUNK: TypeAdapter[AnyChunk] = TypeAdapter(Annotated[AnyChunk, Field(discriminator="event")])


def parse_chunk(line: str | bytes) -> AnyChunk:
    """One NDJSON line as a typed chunk; ProtocolError when it is not one."""
    try:
        return _CHUNK.validate_json(line)
    except _PydanticValidationError as exc:
        text = line.decode(errors="replace") if isinstance(line, bytes) else line
        raise ProtocolError(f"not a chunk: {text[:200]!r} ({exc.error_count()} errors)") from exc


T = TypeVar("T")


def parse_json(kind: type[T] | TypeAdapter[T], content: bytes) -> T:
    """An answer's body as `kind`; ProtocolError when it does not fit."""
    adapter = kind if isinstance(kind, TypeAdapter) else TypeAdapter(kind)
    try:
        return adapter.validate_json(content)
    except _PydanticValidationError as exc:
        raise ProtocolError(f"unexpected answer: {content[:200]!r} ({exc.error_count()} errors)"
                            ) from exc
