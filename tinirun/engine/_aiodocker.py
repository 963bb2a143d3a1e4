"""Every use of aiodocker's private attributes, in one place, each with the reason.

aiodocker's public API covers most of what the adapter needs; what it lacks is below. The
version range in pyproject.toml is capped at the minor release these were read against:
a new aiodocker release is adopted by checking each function here (the unit tests call
them through a real client object, see tests/unit/test_aiodocker_reach.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiodocker
import aiohttp
from aiodocker.stream import Stream


async def open_attach(container: aiodocker.containers.DockerContainer) -> Stream:
    """Attach to stdin, stdout and stderr now, before the container starts.

    Private: `Stream._init()`. The public Stream opens its connection lazily at the first
    read or write, which for a warm container is after its start: the program's first output
    could be lost. Opening it before `start` is what `docker run -i` does too.
    """
    stream = container.attach(stdout=True, stderr=True, stdin=True, logs=False)
    await stream._init()
    return stream


def _transport(stream: Stream) -> asyncio.Transport | None:
    # Private: `Stream._resp`, the upgraded HTTP response that owns the raw connection.
    response = stream._resp
    connection = response.connection if response is not None else None
    transport = connection.transport if connection is not None else None
    return transport


def attach_open(stream: Stream) -> bool:
    """Whether the attach connection is still open (a container killed from outside has
    lost it). No public accessor exists."""
    transport = _transport(stream)
    return transport is not None and not transport.is_closing()


def close_stdin(stream: Stream) -> None:
    """Half-close the attach connection so the program sees the end of its input while its
    output is still read. The public `Stream.close()` closes both directions."""
    transport = _transport(stream)
    if transport is not None and transport.can_write_eof():
        transport.write_eof()


def close_attach(stream: Stream) -> None:
    """Close the attach connection from synchronous code (cleanup, cancellation): the public
    `Stream.close()` is a coroutine. Private: `Stream._resp`, `Stream._closed` (set so that
    aiodocker's finaliser does not warn of an unclosed stream)."""
    response = stream._resp
    if response is not None:
        response.close()
    stream._closed = True


def container_data(container: aiodocker.containers.DockerContainer) -> dict[str, Any]:
    """The engine's data for a container of a listing. Private: `DockerContainer._container`
    (the public mapping protocol gives single keys only)."""
    return dict(container._container)


@asynccontextmanager
async def raw_request(
    docker: aiodocker.Docker,
    path: str,
    method: str = "GET",
    params: Mapping[str, Any] | None = None,
    data: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: aiohttp.ClientTimeout | None = None,  # noqa: ASYNC109 (aiohttp's own)
) -> AsyncIterator[aiohttp.ClientResponse]:
    """An Engine API request aiodocker has no method for (container update, events in a
    closed time window, image import from a tar stream). Private: `Docker._query`, which
    adds the API version, the connector and aiodocker's error mapping (DockerError)."""
    async with docker._query(path, method=method, params=params, data=data,
                             headers=headers, timeout=timeout) as response:
        yield response
