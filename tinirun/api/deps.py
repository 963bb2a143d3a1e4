"""Typed FastAPI dependencies: the service's objects and settings, as routes receive them.

The app's lifespan stores the `Services` it built on the application; these are the only
readers of that state, so routes declare `services: ServicesDep` and get a typed object.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tinirun.api.streaming import stream_format
from tinirun.config import Config
from tinirun.service import Services


def get_config(request: Request) -> Config:
    config = request.app.state.config
    assert isinstance(config, Config)
    return config


def get_services(request: Request) -> Services:
    services = request.app.state.services
    assert isinstance(services, Services), "the service is not started (lifespan not run)"
    return services


def stream_kind(request: Request) -> str:
    """`sse` or `ndjson`: the stream format this request's Accept header asks for."""
    return stream_format(request.headers.get("accept"), get_config(request).default_stream)


ConfigDep = Annotated[Config, Depends(get_config)]
ServicesDep = Annotated[Services, Depends(get_services)]
StreamKind = Annotated[str, Depends(stream_kind)]
