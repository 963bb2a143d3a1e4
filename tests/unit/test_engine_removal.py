"""A removal that finds another removal of the same container under way (the engine answers
409) returns only once the container is gone: the service's shutdown removes what its runs
left while their own removals are still going, and must not exit before the engine is done.
aiodocker is faked: a removal takes as long as the test says, and the container's wait for
`removed` answers when it is over."""

from __future__ import annotations

import asyncio
from typing import Any

import aiodocker

from tinirun.engine.docker import Engine


class FakeContainer:
    def __init__(self, docker: FakeDocker, container_id: str) -> None:
        self.docker = docker
        self.id = container_id

    async def delete(self, **_: Any) -> None:
        if self.id not in self.docker.made:
            raise aiodocker.DockerError(404, f"No such container: {self.id}")
        if self.id in self.docker.removing:
            raise aiodocker.DockerError(
                409, f"removal of container {self.id} is already in progress")
        self.docker.removing.add(self.id)
        self.docker.started.set()
        await self.docker.finish.wait()
        self.docker.removing.discard(self.id)
        self.docker.made.discard(self.id)
        self.docker.gone.set()

    async def wait(self, timeout: float | None = None,  # noqa: ASYNC109 (aiodocker's own)
                   **params: Any) -> dict[str, Any]:
        self.docker.waits.append((f"containers/{self.id}/wait", params))
        self.docker.waited.set()
        if self.id not in self.docker.made:
            raise aiodocker.DockerError(404, f"No such container: {self.id}")
        await self.docker.gone.wait()
        return {"StatusCode": 137}


class FakeContainers:
    def __init__(self, docker: FakeDocker) -> None:
        self.docker = docker

    def container(self, container_id: str) -> FakeContainer:
        return FakeContainer(self.docker, container_id)


class FakeDocker:
    def __init__(self, *made: str) -> None:
        self.made = set(made)
        self.removing: set[str] = set()
        self.started = asyncio.Event()
        self.finish = asyncio.Event()
        self.gone = asyncio.Event()
        self.waited = asyncio.Event()
        self.waits: list[tuple[str, dict[str, Any]]] = []
        self.containers = FakeContainers(self)

    async def close(self) -> None:
        pass


async def test_a_second_removal_returns_when_the_first_is_done() -> None:
    engine = Engine()
    docker = engine._docker = FakeDocker("c1")  # type: ignore[assignment]
    first = asyncio.ensure_future(engine.remove_container("c1"))
    await docker.started.wait()
    second = asyncio.ensure_future(engine.remove_container("c1"))
    # It asks the engine to wait for the removal (or, as it used to, returns at once).
    waited = asyncio.ensure_future(docker.waited.wait())
    await asyncio.wait([second, waited], return_when=asyncio.FIRST_COMPLETED)
    waited.cancel()
    assert docker.waits == [("containers/c1/wait", {"condition": "removed"})]
    assert not second.done()
    docker.finish.set()
    await asyncio.gather(first, second)
    assert docker.made == set()


async def test_a_removal_of_a_container_already_gone_is_quiet() -> None:
    engine = Engine()
    docker = engine._docker = FakeDocker()  # type: ignore[assignment]
    await engine.remove_container("c1")
    assert docker.waits == []
