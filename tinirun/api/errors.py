"""The one place where failures become HTTP status codes.

The user's code failing is never here: it is a `result` chunk.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response

from tinirun.api.auth import UnauthorizedError
from tinirun.errors import BusyError, Fault, TinirunError

log = logging.getLogger(__name__)

BODY_PARSE_ERROR = "There was an error parsing the body"

# The one table from fault to HTTP status (see the tree in tinirun/errors.py).
STATUS: dict[Fault, int] = {
    Fault.INVALID: 400,
    Fault.INVALID_BODY: 400,
    Fault.NOT_FOUND: 404,
    Fault.NOT_READY: 400,
    Fault.EXISTS: 400,
    Fault.IMAGE_MISSING: 400,
    Fault.BUILD: 400,  # the user's dependencies did not install (a one-shot run's answer)
    Fault.BUSY: 429,
    Fault.STORE: 503,
    Fault.STOPPING: 503,
    Fault.ENGINE: 502,
    Fault.BUG: 500,
}


def status_of(exc: BaseException) -> int:
    return STATUS[exc.fault] if isinstance(exc, TinirunError) else 500


def _field(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def validation_message(exc: RequestValidationError) -> str:
    """One line per problem, each naming the field."""
    lines = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            lines.append(f"Invalid JSON: {error.get('ctx', {}).get('error', error.get('msg'))}")
            continue
        lines.append(f"{_field(tuple(error.get('loc', ())))}: {error.get('msg')}")
    return "; ".join(lines)


def install(app: FastAPI) -> None:
    """Register the handlers that map errors to responses."""

    @app.exception_handler(UnauthorizedError)
    async def _unauthorized(request: Request, exc: UnauthorizedError) -> Response:
        return PlainTextResponse("Unauthorized", status_code=401)

    @app.exception_handler(TinirunError)
    async def _tinirun(request: Request, exc: TinirunError) -> Response:
        status = status_of(exc)
        headers = {}
        if isinstance(exc, BusyError):
            headers["Retry-After"] = str(exc.retry_after)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        if exc.fault is Fault.INVALID_BODY:
            return invalid_body(str(exc))
        return PlainTextResponse(str(exc), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return invalid_body(validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = str(exc.detail)
        if exc.status_code == 400 and detail == BODY_PARSE_ERROR:
            # FastAPI's words for a body that is not even text (e.g. not UTF-8).
            return invalid_body("Invalid JSON: the body is not UTF-8 JSON text")
        return PlainTextResponse(detail, status_code=exc.status_code,
                                 headers=getattr(exc, "headers", None))


def invalid_body(message: str) -> Response:
    """A body that cannot be parsed or breaks the schema: 400 with `{"message": ...}`, as the
    original answers (our message names the field)."""
    return JSONResponse({"message": message}, status_code=STATUS[Fault.INVALID_BODY])
