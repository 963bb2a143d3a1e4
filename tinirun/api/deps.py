"""Typed FastAPI dependencies: the service's objects and settings, as routes receive them.

The app's lifespan stores the `Services` it built on the application; these are the only
readers of that state, so routes declare `services: ServicesDep` and get a typed object.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tinirun.api.streaming import stream_media_type
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
    """The media type to stream this request's answer with (SSE or NDJSON), from its Accept
    header and RUNNER_DEFAULT_STREAM."""
    return stream_media_type(request.headers.get("accept"), get_config(request).default_stream)


ConfigDep = Annotated[Config, Depends(get_config)]
ServicesDep = Annotated[Services, Depends(get_services)]
StreamKind = Annotated[str, Depends(stream_kind)]
