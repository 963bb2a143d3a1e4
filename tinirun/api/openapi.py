"""OpenAPI helpers: the streaming media types of a route, and the offline Swagger UI page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from tinirun.api.streaming import NDJSON, SSE
from tinirun.models import Chunk

CHUNK_REF = {"$ref": "#/components/schemas/Chunk"}


def stream_responses(description: str) -> dict[int | str, dict[str, Any]]:
    """The 200 response of a streaming route: both media types, each of Chunk items."""
    return {
        200: {
            "description": description
            + " NDJSON by default (one Chunk per line); SSE with `Accept: text/event-stream`"
            " (one `data:` line per Chunk). The last chunk is one `result` or one `error`.",
            "content": {
                NDJSON: {"schema": {"type": "string", "description": "One JSON Chunk per line"},
                         "itemSchema": CHUNK_REF},
                SSE: {"schema": {"type": "string", "description": "`data: <Chunk>` events"},
                      "itemSchema": CHUNK_REF},
            },
        },
        400: {"description": "Invalid dependency or file (message names it)"},
        401: {"description": "Missing or wrong X-Runner-Api-Key"},
        422: {"description": "The body breaks the schema (message names the field)"},
        429: {"description": "The run queue is full; see Retry-After"},
    }


def install_chunk_schema(api: FastAPI) -> None:
    """Add the Chunk schema (and what it refers to) to the document's components, since the
    streaming routes refer to it without a response model."""
    plain = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema:
            return api.openapi_schema
        document = plain()
        schema = Chunk.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas["Chunk"] = schema
        api.openapi_schema = document
        return document

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
