"""POST /api/code/run: a one-off run, streamed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from tinirun.api.openapi import stream_responses
from tinirun.api.streaming import chunk_response, stream_format
from tinirun.models import RunRequest

router = APIRouter()


@router.post(
    "/code/run",
    operation_id="run_code",
    summary="Run a one-off code snippet",
    response_class=StreamingResponse,
    responses=stream_responses("The run as a stream of chunks."),
)
async def run_code(body: RunRequest, request: Request) -> StreamingResponse:
    """Runs `code` in a fresh container and streams its progress, output and result.

    Dependencies are installed once into an image that later runs with the same list reuse.
    """
    services = request.app.state.services
    prepared = services.runner.prepare(body)
    services.gate.check()
    fmt = stream_format(request.headers.get("accept"), request.app.state.config.default_stream)
    run = services.metrics.observe_run(services.runner.run(prepared), prepared.language.name,
                                       "code")
    return chunk_response(services.gate.stream(run), fmt)
