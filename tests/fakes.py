"""A fake Docker engine at the adapter's seam (`tinirun.engine.docker.Engine`'s methods and
`attached.Lifecycle` / `output.Channel`), for the fast suite of the core.

Each container runs a `Program`: what it writes, how it ends. Everything above the adapter
(Attached.feed, the Runner, the pool, the function builds, the housekeeper) is the real code.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tinirun.engine.attached import KILLED, Attached
from tinirun.engine.output import Output
from tinirun.errors import BuildError, EngineError


@dataclass
class Program:
    """What a fake container does once fed: write `output`, then end with `exit_code`
    (or run until it is killed, when `hang`)."""

    output: list[tuple[int, bytes]] = field(default_factory=list)
    exit_code: int = 0
    oom: bool = False
    hang: bool = False
    # Kill events the engine reports for the container (a stop from outside).
    signals: list[str] = field(default_factory=list)
    # When set, the program ends only once this is set (to order concurrent builds).
    gate: asyncio.Event | None = None
    # A run that hands off (output.Handoff): its output starts as soon as its payload is
    # written, and after this many items it waits for its stdin to be closed.
    handoff_after: int | None = None


@dataclass
class FakeContainer:
    id: str
    config: dict[str, Any]
    program: Program
    created: float = field(default_factory=time.time)
    stdin: bytes = b""
    # Each write to stdin with the CPU quota the container had then.
    writes: list[tuple[bytes, int]] = field(default_factory=list)
    written: asyncio.Event = field(default_factory=asyncio.Event)
    # The CPU quota when a program that hands off went on past its handoff.
    quota_after_handoff: int | None = None
    fed: asyncio.Event = field(default_factory=asyncio.Event)
    killed: asyncio.Event = field(default_factory=asyncio.Event)
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    state: str = "running"


class FakeChannel:
    def __init__(self, container: FakeContainer) -> None:
        self.container = container
        self._pending = list(container.program.output)

    @property
    def open(self) -> bool:
        return not self.container.closed and not self.container.killed.is_set()

    async def write(self, data: bytes) -> None:
        self.container.stdin += data
        host = self.container.config.get("HostConfig", {})
        self.container.writes.append((data, host.get("NanoCpus", 0)))
        self.container.written.set()

    def close_input(self) -> None:
        self.container.fed.set()

    async def read(self) -> Output | None:
        handoff_after = self.container.program.handoff_after
        if handoff_after is None:
            await self.container.fed.wait()
        else:
            await self.container.written.wait()
            if len(self.container.program.output) - len(self._pending) >= handoff_after:
                await self.container.fed.wait()
                if self.container.quota_after_handoff is None:
                    host = self.container.config["HostConfig"]
                    self.container.quota_after_handoff = host["NanoCpus"]
        await asyncio.sleep(0)
        if self._pending and not self.container.killed.is_set():
            stream, data = self._pending.pop(0)
            return Output(stream, data)
        if self.container.program.hang:
            await self.container.killed.wait()
        if self.container.program.gate is not None:
            await self.container.program.gate.wait()
        self.container.state = "exited"
        self.container.exited.set()
        return None

    def close(self) -> None:
        self.container.closed = True


@dataclass
class FakeImage:
    id: str
    tags: list[str]
    labels: dict[str, str]
    created: float = field(default_factory=time.time)
    unique_size: int = 0


class FakeEngine:
    """The engine adapter's methods, in memory."""

    def __init__(self, program: Callable[[dict[str, Any]], Program] | None = None) -> None:
        self.program = program or (lambda config: Program())
        self.containers: dict[str, FakeContainer] = {}
        self.removed: list[str] = []
        # Removed after their run ended (the removal waits for the engine to report the stop).
        self.removed_stopping: list[str] = []
        # What remove_soon returns (the container's stop): None (stopped already), or a future
        # a test completes.
        self.removal: asyncio.Future[None] | None = None
        # Every container started, removed or not.
        self.started: list[FakeContainer] = []
        self.images: dict[str, FakeImage] = {}
        self.calls: Counter[str] = Counter()
        self.fail_start: EngineError | None = None
        self.fail_update = False
        # Builds of a tag wait on its gate when one is set (to order concurrent builds).
        self.build_gates: dict[str, asyncio.Event] = {}
        self.build_errors: dict[str, str] = {}
        self.networks: dict[str, set[str]] = {}
        self._ids = itertools.count(1)

    # --- containers (attached.Lifecycle) ------------------------------------------------------

    async def start(self, config: dict[str, Any]) -> Attached:
        labels = config.get("Labels", {})
        building = labels.get("tinirun.kind") == "build"
        self.calls["build" if building else "start"] += 1
        if self.fail_start is not None:
            raise self.fail_start
        cid = f"{next(self._ids):064x}"
        program = self._build_program(labels["tinirun.building"]) if building else (
            self.program(config))
        container = FakeContainer(cid, config, program)
        self.containers[cid] = container
        self.started.append(container)
        return Attached(self, cid, FakeChannel(container), config)

    async def update_limits(self, container_id: str, memory: int, nano_cpus: int) -> None:
        self.calls["update"] += 1
        if self.fail_update:
            raise EngineError("update refused")
        host = self.containers[container_id].config["HostConfig"]
        host.update(Memory=memory, MemorySwap=memory, NanoCpus=nano_cpus)

    async def wait(self, container_id: str) -> int | None:
        self.calls["wait"] += 1
        container = self.containers[container_id]
        await container.exited.wait()
        return KILLED if container.killed.is_set() else container.program.exit_code

    async def oom_killed(self, container_id: str) -> bool:
        self.calls["inspect"] += 1
        return self.containers[container_id].program.oom

    async def kill(self, container_id: str) -> None:
        self.calls["kill"] += 1
        self.containers[container_id].killed.set()

    async def kill_signals(self, container_id: str, since: float) -> list[str]:
        self.calls["events"] += 1
        return list(self.containers[container_id].program.signals)

    def remove_soon(self, container_id: str,
                    stopping: bool = False) -> asyncio.Future[None] | None:
        self.removed.append(container_id)
        if stopping:
            self.removed_stopping.append(container_id)
        self.containers.pop(container_id, None)
        return self.removal

    async def remove_container(self, container_id: str) -> None:
        self.remove_soon(container_id)

    async def list_containers(self, label: str = "tinirun") -> list[dict[str, Any]]:
        key, _, value = label.partition("=")
        return [{"Id": c.id, "State": c.state, "Created": c.created,
                 "Labels": c.config.get("Labels", {})}
                for c in self.containers.values()
                if key in c.config.get("Labels", {})
                and (not value or c.config["Labels"][key] == value)]

    # --- images -------------------------------------------------------------------------------

    def add_image(self, tag: str, labels: Mapping[str, str] | None = None) -> FakeImage:
        image = FakeImage(f"sha256:{next(self._ids):064x}", [tag], dict(labels or {}))
        self.images[tag] = image
        return image

    async def image_id(self, ref: str) -> str | None:
        image = self.images.get(ref)
        if image is None:
            image = next((i for i in self.images.values() if i.id == ref), None)
        return None if image is None else image.id

    # --- builds by container and commit, the install network (engine.building) -------------

    def _build_program(self, tag: str) -> Program:
        if tag in self.build_errors:
            return Program(output=[(2, self.build_errors[tag].encode())], exit_code=1,
                           gate=self.build_gates.get(tag))
        return Program(gate=self.build_gates.get(tag))

    async def create(self, config: dict[str, Any], name: str | None = None) -> str:
        cid = f"{next(self._ids):064x}"
        self.containers[cid] = FakeContainer(cid, config, Program(), state="created")
        return cid

    async def put_archive(self, container_id: str, path: str, tarball: Any) -> None:
        self.calls["put_archive"] += 1

    async def commit(self, container_id: str, ref: str, config: dict[str, Any]) -> str:
        return self.add_image(ref, config.get("Labels") or {}).id

    async def image_config(self, ref: str) -> dict[str, Any]:
        return {"Labels": dict(self.images[ref].labels) if ref in self.images else {}}

    async def written_bytes(self, container_id: str) -> int:
        return 0

    async def is_running(self, name: str) -> bool:
        return name in self.networks.get("proxies", set())

    async def start_named(self, name: str, config: dict[str, Any],
                          networks: Sequence[str] = ()) -> None:
        for network in networks:
            await self.connect_network(network, name)
        self.networks.setdefault("proxies", set()).add(name)

    async def ensure_network(self, name: str, labels: Mapping[str, str], internal: bool,
                             options: Mapping[str, str]) -> None:
        self.networks.setdefault(name, set())

    async def connect_network(self, network: str, container: str) -> None:
        self.networks.setdefault(network, set()).add(container)

    async def container_address(self, container: str, network: str) -> str:
        return "10.0.0.2"

    async def remove_network(self, name: str) -> None:
        self.networks.pop(name, None)

    async def image_unique_sizes(self) -> dict[str, int]:
        return {i.id: i.unique_size for i in self.images.values()}

    async def pull(self, ref: str) -> AsyncIterator[str]:
        self.calls["pull"] += 1
        self.add_image(ref)
        yield f"pulled {ref}"

    async def tag(self, source: str, repo: str, tag: str) -> None:
        self.images[f"{repo}:{tag}"] = self.images[source]

    async def build(self, context: bytes, tag: str, labels: Mapping[str, str],
                    buildargs: Mapping[str, str] | None = None) -> AsyncIterator[str]:
        self.calls["image_build"] += 1
        yield f"Step 1/1 : building {tag}"
        gate = self.build_gates.get(tag)
        if gate is not None:
            await gate.wait()
        if tag in self.build_errors:
            raise BuildError(f"Build of {tag} failed", self.build_errors[tag])
        self.add_image(tag, {"tinirun": "1", **labels})
        yield f"Successfully tagged {tag}"

    async def list_images(self, label: str = "tinirun") -> list[dict[str, Any]]:
        key, _, value = label.partition("=")
        return [{"Id": i.id, "RepoTags": list(i.tags), "Labels": dict(i.labels),
                 "Created": i.created}
                for i in {id(i): i for i in self.images.values()}.values()
                if key in i.labels and (not value or i.labels[key] == value)]

    async def remove_image(self, ref: str) -> bool:
        for tag, image in list(self.images.items()):
            if ref in (tag, image.id):
                del self.images[tag]
                return True
        return False
