"""The key middleware and the routes agree: a route without the key dependency is exactly a
route the middleware lets through without the key, so no route is open by mistake and no
open route (health, the docs) is refused."""

from __future__ import annotations

from fastapi.routing import APIRoute

from tinirun.api.app import create_api
from tinirun.api.auth import ApiKeyMiddleware, require_api_key
from tinirun.config import Config


def test_open_routes_are_exactly_the_routes_without_the_key_dependency() -> None:
    api = create_api(Config(api_key="k"))
    routes = [r for r in api.routes if isinstance(r, APIRoute)]
    assert routes
    for route in routes:
        keyed = any(d.call is require_api_key for d in route.dependant.dependencies)
        assert keyed != ApiKeyMiddleware._open(route.path), route.path
    assert ApiKeyMiddleware._open("/openapi.json") and ApiKeyMiddleware._open("/docs/static/x.js")
