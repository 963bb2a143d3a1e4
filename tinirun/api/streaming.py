"""Encoding a stream of chunks for the wire: Server-Sent Events or NDJSON, as asked.

As the original's code: `Accept: text/event-stream` gets SSE; `application/json`,
`application/jsonl`, `application/json-lines` or `application/x-ndjson` get NDJSON; any other
Accept (`*/*`, a list, none) gets the default, SSE unless RUNNER_DEFAULT_STREAM=ndjson.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from tinirun.models import Chunk

SSE = "text/event-stream"
# The original's NDJSON media type, the one the OpenAPI document declares.
JSONL = "application/jsonl"
NDJSON = "application/x-ndjson"
# Accept values the original answers with NDJSON (ours adds application/ndjson), and the
# media type each is answered with: the one asked, but JSONL for plain JSON.
NDJSON_TYPES = {
    "application/json": JSONL,
    "application/jsonl": JSONL,
    "application/json-lines": "application/json-lines",
    "application/x-ndjson": NDJSON,
    "application/ndjson": "application/ndjson",
}


def stream_media_type(accept: str | None, default: str) -> str:
    """The media type to stream with for an Accept header: SSE or an NDJSON type. Like the
    original's, it reads a header of one media type (parameters aside); anything else gets
    `default` (`sse` or `ndjson`)."""
    asked = (accept or "").split(";")[0].strip().lower()
    if "," not in (accept or ""):
        if asked == SSE:
            return SSE
        if asked in NDJSON_TYPES:
            return NDJSON_TYPES[asked]
    return SSE if default == "sse" else JSONL


# Characters JSON leaves raw that line splitters (str.splitlines, httpx's iter_lines, JS
# line separators) treat as line ends: escaped, so one chunk is always one line.
_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


def encode(chunk: Chunk, sse: bool) -> bytes:
    line = json.dumps(chunk.to_json(), ensure_ascii=False, separators=(",", ":"))
    for char in _LINE_BREAKS:
        if char in line:
            line = line.replace(char, f"\\u{ord(char):04x}")
    if sse:
        return f"data: {line}\n\n".encode()
    return f"{line}\n".encode()


async def _encoded(chunks: AsyncIterator[Chunk], sse: bool) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield encode(chunk, sse)
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


def chunk_response(chunks: AsyncIterator[Chunk], media_type: str) -> StreamingResponse:
    """A streaming response of `chunks` as `media_type` (SSE or an NDJSON type, from
    `stream_media_type`); the client hanging up cancels the iterator."""
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return ChunkStreamResponse(_encoded(chunks, media_type == SSE), media_type=media_type,
                               headers=headers)
