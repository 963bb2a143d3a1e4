"""OpenAPI helpers: the streaming media types of a route, and the offline Swagger UI page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from tinirun.api.schemas import REF, original_document
from tinirun.api.streaming import JSONL, SSE

CHUNK_REF = {"$ref": REF + "CodeRunnerChunk"}


def stream_responses(description: str) -> dict[int | str, dict[str, Any]]:
    """The 200 response of a streaming route: SSE and NDJSON, each of CodeRunnerChunk."""
    return {
        200: {
            "description": description
            + " Server-Sent Events by default (one `data:` line per chunk), NDJSON (one chunk "
            "per line) for `Accept: application/jsonl`, `application/json-lines`, "
            "`application/x-ndjson` or `application/json`. The last chunk is one `result` or "
            "one `error`.",
            "content": {SSE: {"schema": CHUNK_REF}, JSONL: {"schema": CHUNK_REF}},
        },
        400: {"description": "The body cannot be parsed or breaks the schema (JSON "
                             "`message`), or a dependency is refused (text naming it)",
              "content": {"text/plain": {"schema": {"type": "string"}}}},
        401: {"description": "Missing or wrong X-Runner-Api-Key"},
        429: {"description": "The run queue is full; see Retry-After"},
    }


def install_original_schema(api: FastAPI) -> None:
    """Serve the document in the original's shape (see tinirun.api.schemas)."""
    plain = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema:
            return api.openapi_schema
        api.openapi_schema = original_document(plain())
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def swagger_static_dir() -> Path | None:
    try:
        import swagger_ui
    except ImportError:
        return None
    path = Path(swagger_ui.__file__).parent / "static"
    return path if (path / "swagger-ui-bundle.js").is_file() else None


SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tinirun API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui",
  persistAuthorization: true});</script>
</body></html>"""


def install_docs(api: FastAPI) -> None:
    """Serve Swagger UI at /docs from the package's own assets (no CDN)."""
    static = swagger_static_dir()
    if static is not None:
        api.mount("/docs/static", StaticFiles(directory=static), name="swagger-static")

    @api.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE)
