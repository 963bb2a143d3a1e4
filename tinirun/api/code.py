"""POST /api/code/run: a one-off run, streamed (or, with `?stream=false`, one JSON object)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from tinirun.api.deps import ServicesDep, StreamKind
from tinirun.api.oneshot import one_shot
from tinirun.api.openapi import stream_responses
from tinirun.api.streaming import chunk_response
from tinirun.models import ErrorData, RunRequest, RunResult

router = APIRouter()

# Swagger UI's "Try it out" fills the body with the first example: it runs as it is.
EXAMPLES: dict[str, Any] = {
    "python": {"summary": "Python, hello world",
               "value": {"lang": "python", "code": "print('Hello from tinirun')"}},
    "javascript": {"summary": "JavaScript with a dependency",
                   "value": {"lang": "javascript", "dependencies": ["lodash"],
                             "code": "const _ = require('lodash');\n"
                                     "console.log(_.capitalize('hello'));"}},
    "stdin": {"summary": "Bash reading standard input",
              "value": {"lang": "bash", "code": "tr a-z A-Z", "stdin": "shout\n"}},
}


def _responses() -> dict[int | str, dict[str, Any]]:
    responses = stream_responses(
        "The run as a stream of chunks; with `stream=false`, its result as one JSON object.")
    responses[200]["model"] = RunResult
    responses[400] = {"model": ErrorData, "description": "Invalid dependency or file (message "
                      "names it); with `stream=false`, also a failed install of the "
                      "dependencies (`build_failed` error data, with the install's log)"}
    responses[502] = {"model": ErrorData,
                      "description": "With `stream=false`: the Docker engine failed (`docker` "
                      "error data)"}
    responses[503] = {"model": ErrorData,
                      "description": "With `stream=false`: the service is shutting down "
                      "(`docker` error data)"}
    return responses


@router.post(
    "/code/run",
    operation_id="run_code",
    summary="Run a one-off code snippet",
    response_class=Response,
    responses=_responses(),
)
async def run_code(
    body: Annotated[RunRequest, Body(openapi_examples=EXAMPLES)],
    request: Request,
    services: ServicesDep,
    fmt: StreamKind,
    stream: Annotated[bool, Query(
        description="Extension: `false` answers with one JSON object once the run ends — its "
                    "result (200), or the error data (400 for a failed install of the "
                    "dependencies, 502 for the engine) — instead of a stream.")] = True,
) -> Response:
    """Runs `code` in a fresh container and streams its progress, output and result.

    Dependencies are installed once into an image that later runs with the same list reuse.
    """
    prepared = services.runner.prepare(body)
    if await services.images.needs_build(prepared.language, prepared.dependencies):
        services.images.gate.check()  # 429 now, rather than an error chunk later
    # The slot is freed when the run's container ends, however slowly the client reads.
    run = await services.admit(
        lambda slot: services.metrics.observe_run(
            services.runner.run(prepared, on_exit=slot.free), prepared.language.name, "code"),
        lambda cluster: cluster.job("code", body.model_dump(mode="json")))
    if not stream:
        return await one_shot(run, request)
    return chunk_response(run, fmt)
