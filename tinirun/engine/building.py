"""Engine calls that builds by container and commit need, and the install network: create
without starting, unpack a tar into a container, commit, a layer's size, a named long-lived
container (the egress proxy) and networks. A mixin of the Engine adapter (so a fake engine
provides them too); engine failures leave as EngineError."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import aiodocker
import aiohttp

from tinirun.engine import _aiodocker
from tinirun.engine.errors import engine_errors
from tinirun.errors import EngineError
from tinirun.labels import SERVICE

# The engine may take this long to answer a plain request (as in docker.py).
REQUEST_TIMEOUT = 30.0


def _status(exc: EngineError) -> int | None:
    cause = exc.__cause__
    return cause.status if isinstance(cause, aiodocker.DockerError) else None


class BuildCalls:
    """The Engine adapter's calls for builds and the install network."""

    @property
    def docker(self) -> aiodocker.Docker:
        raise NotImplementedError

    async def _create(self, config: dict[str, Any], name: str | None = None) -> Any:
        raise NotImplementedError

    async def create(self, config: dict[str, Any], name: str | None = None) -> str:
        """Create a container (not started); its id."""
        with engine_errors():
            container = await self._create(config, name)
        return str(container.id)


    async def put_archive(self, container_id: str, path: str, tarball: Any) -> None:
        """Unpack a tar (bytes or a binary file) at `path` inside a container."""
        with engine_errors():
            async with _aiodocker.raw_request(
                self.docker, f"containers/{container_id}/archive", method="PUT",
                params={"path": path}, data=tarball, headers={"Content-Type": "application/x-tar"},
                timeout=aiohttp.ClientTimeout(total=None),
            ) as response:
                await response.read()


    async def commit(self, container_id: str, ref: str, config: dict[str, Any]) -> str:
        """Make image `ref` of a container's file system with image `config`; its id."""
        # The tag follows the last colon unless that colon is a registry's port.
        repo, _, tag = ref.rpartition(":") if "/" not in ref.rpartition(":")[2] else (ref, "", "")
        with engine_errors():
            data = await self.docker.containers.container(container_id).commit(
                repository=repo, tag=tag or "latest", config=config, pause=False,
            )
        return str(data.get("Id", ""))


    async def image_config(self, ref: str) -> dict[str, Any]:
        with engine_errors():
            data = await asyncio.wait_for(self.docker.images.inspect(ref), REQUEST_TIMEOUT)
        return dict(data.get("Config") or {})


    async def written_bytes(self, container_id: str) -> int:
        """What a container wrote to its own layer (the engine's SizeRw)."""
        with engine_errors():
            async with _aiodocker.raw_request(
                self.docker, f"containers/{container_id}/json", params={"size": "1"},
                timeout=aiohttp.ClientTimeout(total=None),
            ) as response:
                data = json.loads(await response.read())
        return int(data.get("SizeRw") or 0)


    async def inspect(self, name: str) -> dict[str, Any] | None:
        """A container's inspect data, or None when there is none of that name."""
        try:
            with engine_errors():
                return dict(await self.docker.containers.container(name).show())
        except EngineError as exc:
            if _status(exc) == 404:
                return None
            raise


    async def is_running(self, name: str) -> bool:
        data = await self.inspect(name)
        return bool(data and (data.get("State") or {}).get("Running"))


    async def start_named(self, name: str, config: dict[str, Any],
                          networks: Sequence[str] = ()) -> None:
        """Start container `name`: made from `config` unless it exists (another service may be
        making it at the same moment), and on `networks` too before it starts.

        Joined to a network once it runs, a container has its /etc/resolv.conf rewritten in
        place, not atomically: a program that reads it at that moment (squid, as it starts)
        finds no name server and resolves nothing until it restarts."""
        with engine_errors():
            try:
                await self.docker.containers.create(config=config, name=name)
            except aiodocker.DockerError as exc:
                if exc.status != 409:
                    raise
            for network in networks:
                await self.connect_network(network, name)
            try:
                await self.docker.containers.container(name).start()
            except aiodocker.DockerError as exc:
                if exc.status != 304:  # already started
                    raise


    async def ensure_network(self, name: str, labels: Mapping[str, str], internal: bool,
                             options: Mapping[str, str]) -> None:
        with engine_errors():
            try:
                await self.docker.networks.get(name)
                return
            except aiodocker.DockerError as exc:
                if exc.status != 404:
                    raise
            try:
                await self.docker.networks.create({
                    "Name": name, "CheckDuplicate": True, "Internal": internal,
                    "Driver": "bridge", "Options": dict(options),
                    "Labels": {SERVICE: "1", **labels},
                })
            except aiodocker.DockerError as exc:
                if exc.status != 409:
                    raise


    async def connect_network(self, network: str, container: str) -> None:
        with engine_errors():
            try:
                net = await self.docker.networks.get(network)
                await net.connect({"Container": container})
            except aiodocker.DockerError as exc:
                if exc.status != 403 or "already exists" not in str(exc.message):
                    raise


    async def container_address(self, container: str, network: str) -> str:
        data = await self.inspect(container) or {}
        networks = (data.get("NetworkSettings") or {}).get("Networks") or {}
        return str((networks.get(network) or {}).get("IPAddress") or "")


    async def remove_network(self, name: str) -> None:
        with contextlib.suppress(EngineError), engine_errors():
            net = await self.docker.networks.get(name)
            await net.delete()

    async def image_unique_sizes(self) -> dict[str, int]:
        """Bytes each image holds that no other image shares (what removing it frees), by id."""
        with engine_errors():
            async with _aiodocker.raw_request(
                self.docker, "system/df", timeout=aiohttp.ClientTimeout(total=300),
            ) as response:
                data = json.loads(await response.read())
        sizes = {}
        for image in data.get("Images") or []:
            shared = max(0, int(image.get("SharedSize") or 0))
            sizes[str(image["Id"])] = max(0, int(image.get("Size") or 0) - shared)
        return sizes
