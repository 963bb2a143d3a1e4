"""create_app: the FastAPI application, its lifespan and routes (the objects it serves are
built by `tinirun.service`).

The API lives in a sub-application mounted at /api, so its OpenAPI document declares one
server, `/api`, and lists paths relative to it as the original's does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI

from tinirun import __version__
from tinirun.api import cluster, code, errors, functions, languages, ops
from tinirun.api.auth import ApiKeyMiddleware, require_api_key
from tinirun.api.mcp import mount_mcp
from tinirun.api.middleware import ApiBodyMiddleware
from tinirun.api.openapi import install_docs, install_original_schema
from tinirun.config import Config
from tinirun.playground import create_playground
from tinirun.service import Services, build_services


def create_api(config: Config) -> FastAPI:
    """The /api sub-application: every route of the contract."""
    api = FastAPI(
        title="tinirun",
        version=__version__,
        description="Run code snippets in ephemeral, hardened Docker containers.",
        servers=[{"url": "/api"}],
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    secured = [Depends(require_api_key)]
    api.include_router(ops.router, tags=["service"])
    api.include_router(code.router, dependencies=secured, tags=["code"])
    api.include_router(functions.router, dependencies=secured, tags=["functions"])
    api.include_router(languages.router, dependencies=secured, tags=["languages"])
    api.include_router(cluster.router, dependencies=secured, tags=["cluster"])
    install_docs(api)
    install_original_schema(api)
    errors.install(api)
    return api


def create_app(config: Config, services: Services | None = None) -> FastAPI:
    """The whole service. `services` may be given by tests; else made in the lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        made = services or await build_services(config)
        api.state.services = made
        app.state.services = made
        # Pools fill in the background: start-up does not wait for containers.
        await made.start()
        try:
            async with mcp.lifespan():
                yield
        finally:
            await made.close(grace=config.shutdown_grace)

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    api = create_api(config)
    api.state.config = config
    app.state.config = config
    if config.metrics:
        app.add_api_route("/metrics", ops.metrics, methods=["GET"], include_in_schema=False)
    # The key is checked first, before the body is read; then the body's size and deadline.
    app.mount("/api", ApiKeyMiddleware(
        ApiBodyMiddleware(api, config.max_body_bytes, config.request_timeout), config.api_key))
    mcp = mount_mcp(app, config.api_key)
    if config.playground:
        app.mount("/", create_playground())
    return app
