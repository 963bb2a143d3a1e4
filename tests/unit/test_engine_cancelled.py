"""A caller cancelled while the engine creates its container (a warm pool closing, a client
gone) leaves no container behind: the engine makes it anyway, and the adapter removes it once
the engine answers. aiodocker is faked: its create registers the container at once, as the
engine does, and answers only when the test lets it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tinirun.engine.docker import Engine


class FakeContainer:
    def __init__(self, docker: FakeDocker, container_id: str) -> None:
        self.docker = docker
        self.id = container_id

    async def delete(self, **_: Any) -> None:
        self.docker.made.discard(self.id)


class FakeContainers:
    def __init__(self, docker: FakeDocker) -> None:
        self.docker = docker

    async def create(self, config: dict[str, Any], name: str | None = None) -> FakeContainer:
        container_id = name or f"c{len(self.docker.made) + 1}"
        self.docker.made.add(container_id)
        self.docker.asked.set()
        await self.docker.answer.wait()
        return FakeContainer(self.docker, container_id)

    def container(self, container_id: str) -> FakeContainer:
        return FakeContainer(self.docker, container_id)


class FakeDocker:
    def __init__(self) -> None:
        self.made: set[str] = set()
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()
        self.containers = FakeContainers(self)

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("call", ["start", "create"])
async def test_cancelled_during_create(call: str) -> None:
    engine = Engine()
    docker = engine._docker = FakeDocker()  # type: ignore[assignment]
    caller = asyncio.ensure_future(getattr(engine, call)({"Image": "img"}))
    await docker.asked.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert docker.made  # the engine has made it; its id has not come back yet
    docker.answer.set()
    await engine.close()  # waits for the removals under way
    assert docker.made == set()


async def test_not_cancelled_the_container_stays() -> None:
    engine = Engine()
    docker = engine._docker = FakeDocker()  # type: ignore[assignment]
    docker.answer.set()
    container_id = await engine.create({"Image": "img"}, name="kept")
    await engine.close()
    assert container_id == "kept" and docker.made == {"kept"}
