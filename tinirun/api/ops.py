"""Routes for operators: `GET /api/health` (open) and `GET /metrics` (Prometheus).

Health answers 200 when the Docker engine and the function store both answer, else 503
naming what does not; it says nothing else (no versions, no addresses, no errors' text).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, PlainTextResponse, Response

from tinirun.api.auth import check_key, presented_key
from tinirun.api.deps import ConfigDep, ServicesDep
from tinirun.metrics import CONTENT_TYPE

# A health check must answer before the prober gives up (compose's timeout is 5 s).
CHECK_TIMEOUT = 3.0

router = APIRouter()

Check = Literal["ok", "unreachable"]


class Health(BaseModel):
    """Whether the service can run code and keep functions."""

    status: Literal["ok", "unavailable"]
    engine: Check = Field(description="The Docker engine answers.")
    store: Check = Field(description="The function store (Redis or the embedded one) answers.")
    message: str | None = Field(default=None, description="What is down, when something is.")


async def _answers(call: Awaitable[Any]) -> Check:
    try:
        await asyncio.wait_for(call, CHECK_TIMEOUT)
    except Exception:  # whatever the reason, the prober learns only that it does not answer
        return "unreachable"
    return "ok"


@router.get(
    "/health", operation_id="health", summary="Health of the service (no key needed)",
    responses={200: {"model": Health, "description": "The engine and the store answer"},
               503: {"model": Health, "description": "The engine or the store does not answer"}},
)
async def health(services: ServicesDep) -> JSONResponse:
    """200 when the Docker engine and the function store answer; 503 naming what does not."""
    engine, store = await asyncio.gather(_answers(services.engine.ping()),
                                         _answers(services.store.ping()))
    down = [name for name, check in (("engine", engine), ("store", store)) if check != "ok"]
    body = Health(status="unavailable" if down else "ok", engine=engine, store=store,
                  message=" and ".join(f"the {d} does not answer" for d in down) or None)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=503 if down else 200)


async def metrics(request: Request, config: ConfigDep, services: ServicesDep) -> Response:
    if not config.metrics_public and not check_key(config.api_key, presented_key(request.headers)):
        return PlainTextResponse("Unauthorized", status_code=401)
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
