"""The function routes: create, list, info, detail, update, delete, run and run/stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response, StreamingResponse

from tinirun.api.deps import ServicesDep, StreamKind
from tinirun.api.openapi import stream_responses
from tinirun.api.streaming import chunk_response
from tinirun.errors import EngineError
from tinirun.failures import error_of
from tinirun.function_models import (
    CreateFunctionRequest,
    FunctionDetail,
    FunctionInfo,
    FunctionListItem,
    FunctionRunRequest,
    UpdateFunctionRequest,
)
from tinirun.models import Chunk, ChunkEvent, ErrorData, RunLimits, RunResult
from tinirun.runner.functions import detail_of, info_of

router = APIRouter()
# Both stores take offsets as 64-bit integers; anything near that is no real page anyway.
MAX_OFFSET = 1_000_000_000

# As the original's, no pattern on names in paths: a name no function has is 404 `Not Found`.
Name = Annotated[str, Path(description="The function's name.")]


async def _admitted_run(
    name: str, body: FunctionRunRequest, services: ServicesDep
) -> AsyncIterator[Chunk]:
    """A run of the function's ready image, admitted by the gate (404, 400 "Function not
    ready" or 429 are raised here, before any answer starts)."""
    functions = services.functions
    record, tag = await functions.ready_image(name)
    limits = RunLimits.model_validate(body.model_dump(exclude={"input"}))
    job = {**body.model_dump(mode="json"), "name": record.name, "lang": record.lang,
           "version": record.version, "tag": tag}
    # The slot is freed when the run's container ends, however slowly the client reads.
    return await services.admit(
        lambda slot: services.metrics.observe_run(
            functions.run(record, tag, body.input, limits, on_exit=slot.free), record.lang,
            "function"),
        lambda cluster: cluster.job("function", job))


@router.post(
    "/function", operation_id="create_function", summary="Create a function",
    response_class=StreamingResponse,
    responses=stream_responses("The build of the function's image."),
)
async def create_function(
    body: CreateFunctionRequest, services: ServicesDep, fmt: StreamKind
) -> StreamingResponse:
    """Stores the function (its `code`, `description` and `dependencies` when given, else its
    language's sample code) and streams the image build. 400 when the name exists."""
    functions = services.functions
    record = await functions.create(body.name, body.language.value, body.code,
                                    body.description, body.dependencies)
    return chunk_response(functions.build(record), fmt)


@router.get("/function", operation_id="list_functions", summary="List functions")
async def list_functions(
    services: ServicesDep,
    response: Response,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Skip this many (by name).")] = 0,
    limit: Annotated[int | None, Query(ge=1, le=10000,
                                       description="At most this many; default: all.")] = None,
) -> list[FunctionListItem]:
    """Every function by name (all of them unless `limit` is given; X-Total-Count says how
    many there are)."""
    functions = services.functions
    records = await functions.list(offset, limit)
    response.headers["X-Total-Count"] = str(await functions.store.count())
    return [FunctionListItem(name=r.name, info=info_of(r)) for r in records]


@router.get("/function/{name}/info", operation_id="get_function", summary="Function info",
            responses={404: {"description": "No such function"}})
async def get_function(name: Name, services: ServicesDep) -> FunctionInfo:
    return info_of(await services.functions.get(name))


@router.get("/function/{name}/detail", operation_id="get_function_detail",
            summary="Function info with its code", responses={404: {"description": "No such function"}})
async def get_function_detail(name: Name, services: ServicesDep) -> FunctionDetail:
    return detail_of(await services.functions.get(name))


@router.post(
    "/function/{name}", operation_id="update_function", summary="Update a function",
    response_class=StreamingResponse,
    responses={**stream_responses("The rebuild of the function."),
               404: {"description": "No such function"}},
)
async def update_function(
    name: Name, body: UpdateFunctionRequest, services: ServicesDep, fmt: StreamKind
) -> StreamingResponse:
    """Replaces code, description and dependencies, adds 1 to version and streams the rebuild."""
    functions = services.functions
    record = await functions.update(name, body.code, body.description, body.dependencies)
    return chunk_response(functions.build(record), fmt)


@router.delete("/function/{name}", operation_id="delete_function", summary="Delete a function",
               status_code=204, responses={404: {"description": "No such function"}})
async def delete_function(name: Name, services: ServicesDep) -> Response:
    """Extension: removes the function and its images."""
    await services.functions.delete(name)
    return Response(status_code=204)


@router.post(
    "/function/{name}/run", operation_id="run_function", summary="Run a function",
    responses={400: {"description": "Function not ready"}, 404: {"description": "No such function"}},
)
async def run_function(name: Name, body: FunctionRunRequest, services: ServicesDep) -> RunResult:
    """Runs the function's image with `input` on standard input and answers with the result."""
    async for chunk in await _admitted_run(name, body, services):
        if chunk.event == ChunkEvent.RESULT and isinstance(chunk.data, RunResult):
            return chunk.data
        if chunk.event == ChunkEvent.ERROR and isinstance(chunk.data, ErrorData):
            raise error_of(chunk.data)
    raise EngineError("The run ended without a result")


@router.post(
    "/function/{name}/run/stream", operation_id="run_function_stream",
    summary="Run a function, streamed", response_class=StreamingResponse,
    responses={**stream_responses("The run as a stream of chunks."),
               404: {"description": "No such function"}},
)
async def run_function_stream(
    name: Name, body: FunctionRunRequest, services: ServicesDep, fmt: StreamKind
) -> StreamingResponse:
    return chunk_response(await _admitted_run(name, body, services), fmt)
