"""Turning aiodocker and aiohttp failures into EngineError, in one place."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import aiodocker
import aiohttp

from tinirun.errors import EngineError


def engine_error(exc: BaseException) -> EngineError:
    if isinstance(exc, EngineError):
        return exc
    if isinstance(exc, aiodocker.DockerError):
        return EngineError(f"Docker engine error: {exc.message}")
    if isinstance(exc, aiohttp.ClientConnectionError | OSError):
        return EngineError(f"Cannot reach the Docker engine: {exc}")
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return EngineError("The Docker engine did not answer in time")
    return EngineError(f"Docker engine error: {exc!r}")


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    try:
        yield
    except (TimeoutError, aiodocker.DockerError, aiohttp.ClientError, OSError) as exc:
        raise engine_error(exc) from exc
