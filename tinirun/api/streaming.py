"""Encoding a stream of chunks for the wire: NDJSON (default) or Server-Sent Events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from tinirun.models import Chunk

NDJSON = "application/x-ndjson"
SSE = "text/event-stream"
# Accept values that the original's clients send for NDJSON.
NDJSON_TYPES = frozenset(
    {"application/json", "application/jsonl", "application/json-lines", "application/x-ndjson",
     "application/ndjson"}
)


def stream_format(accept: str | None, default: str) -> str:
    """`sse` or `ndjson` for an Accept header; `default` when it names neither."""
    if accept:
        types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
        if SSE in types:
            return "sse"
        if any(t in NDJSON_TYPES for t in types):
            return "ndjson"
    return default


# Characters JSON leaves raw that line splitters (str.splitlines, httpx's iter_lines, JS
# line separators) treat as line ends: escaped, so one chunk is always one line.
_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


def encode(chunk: Chunk, fmt: str) -> bytes:
    line = json.dumps(chunk.to_json(), ensure_ascii=False, separators=(",", ":"))
    for char in _LINE_BREAKS:
        if char in line:
            line = line.replace(char, f"\\u{ord(char):04x}")
    if fmt == "sse":
        return f"data: {line}\n\n".encode()
    return f"{line}\n".encode()


async def _encoded(chunks: AsyncIterator[Chunk], fmt: str) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield encode(chunk, fmt)
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()


class ChunkStreamResponse(StreamingResponse):
    """A StreamingResponse that closes its chunks when it ends in any way (the client hung
    up, or was cut for not reading), so the run behind them stops now, not at garbage
    collection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                await close()


def chunk_response(chunks: AsyncIterator[Chunk], fmt: str) -> StreamingResponse:
    """A streaming response of `chunks`; the client hanging up cancels the iterator."""
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return ChunkStreamResponse(
        _encoded(chunks, fmt), media_type=SSE if fmt == "sse" else NDJSON, headers=headers
    )
