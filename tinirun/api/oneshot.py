"""A run answered as one JSON object (`?stream=false`): its result, or its error with a status.

The run's chunks are read to the end here; a client that hangs up meanwhile stops the run
(its container is removed) as it would a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinirun.api.errors import STATUS
from tinirun.models import Chunk, ErrorData, RunResult

ENDED_WITHOUT_RESULT = "The run ended without a result"


async def last_chunk(chunks: AsyncIterator[Chunk]) -> Chunk | None:
    """Read `chunks` to the end; the `result` or `error` that ends them."""
    last = None
    try:
        async for chunk in chunks:
            if isinstance(chunk.data, RunResult | ErrorData):
                last = chunk
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
    return last


async def _disconnected(request: Request) -> None:
    # The body has been read, so the next message is the client hanging up (or never comes).
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def one_shot(chunks: AsyncIterator[Chunk], request: Request) -> Response:
    """200 with the result data, or the error data with the status of its kind."""
    reading = asyncio.ensure_future(last_chunk(chunks))
    watching = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({reading, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watching.cancel()
        if not reading.done():
            reading.cancel()  # the client left: closing the chunks stops the run
        with contextlib.suppress(asyncio.CancelledError):
            await watching
    if reading.cancelled():
        return Response(status_code=499)  # nobody reads it
    last = reading.result()
    if last is None:
        return JSONResponse({"error": "docker", "message": ENDED_WITHOUT_RESULT}, 503)
    if isinstance(last.data, ErrorData):
        return JSONResponse(last.data.public(), STATUS[last.data.fault])
    return JSONResponse(last.to_json()["data"])
