"""A thin asyncio adapter over the Docker Engine API (aiodocker).

Every engine failure leaves this module as EngineError (or BuildError for a failed build);
callers never see aiohttp or aiodocker exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Mapping
from typing import Any

import aiodocker
import aiohttp

from tinirun.engine import _aiodocker
from tinirun.engine.attached import Attached, Exit, OnExit
from tinirun.engine.building import BuildCalls
from tinirun.engine.errors import engine_error as _engine_error
from tinirun.engine.errors import engine_errors as _engine_errors
from tinirun.engine.output import Handoff, Output
from tinirun.errors import BuildError, EngineError
from tinirun.labels import SERVICE

__all__ = ["Attached", "Engine", "Exit", "Handoff", "OnExit", "Output"]

log = logging.getLogger(__name__)

# The engine may take this long to answer a plain request before it counts as unreachable.
REQUEST_TIMEOUT = 30.0
# A run's container that has sent its trailer is exiting: its removal waits this long for the
# engine to report the stop, then goes ahead (and kills it) anyway.
STOP_WAIT = 5.0
# Colour codes the classic builder wraps around a step's stderr.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class AttachChannel:
    """A container's attach connection (aiodocker's Stream) as `output.Channel`."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    @property
    def open(self) -> bool:
        return _aiodocker.attach_open(self.stream)

    async def write(self, data: bytes) -> None:
        await self.stream.write_in(data)

    def close_input(self) -> None:
        _aiodocker.close_stdin(self.stream)

    async def read(self) -> Output | None:
        message = await self.stream.read_out()
        return None if message is None else Output(message.stream, message.data)

    def close(self) -> None:
        _aiodocker.close_attach(self.stream)


class Engine(BuildCalls):
    """The service's handle on one Docker engine, created in the app's lifespan."""

    def __init__(self, url: str | None = None) -> None:
        self._url = url
        self._docker: aiodocker.Docker | None = None
        # Engine API requests made, by kind (the bench prints them per run).
        self.calls: Counter[str] = Counter()
        # Removals still under way; held here so a hung-up run's cleanup is not collected.
        self._cleanups: set[asyncio.Task[None]] = set()

    @property
    def docker(self) -> aiodocker.Docker:
        if self._docker is None:
            try:
                self._docker = aiodocker.Docker(url=self._url)
            except AssertionError as exc:
                # aiodocker asserts when DOCKER_HOST is unset and no engine socket exists.
                raise EngineError("Cannot reach the Docker engine: no socket found (is it "
                                  "running? set DOCKER_HOST to reach another)") from exc
            except (ValueError, OSError) as exc:
                raise EngineError(f"Cannot reach the Docker engine: {exc}") from exc
        return self._docker

    async def settled(self) -> None:
        """Wait for the background removals (`remove_soon`) in flight to end."""
        while self._cleanups:
            await asyncio.gather(*list(self._cleanups), return_exceptions=True)

    async def close(self) -> None:
        await self.settled()
        if self._docker is not None:
            await self._docker.close()
            self._docker = None

    async def ping(self) -> str:
        """The engine's version; EngineError when it cannot be reached."""
        with _engine_errors():
            info = await asyncio.wait_for(self.docker.version(), REQUEST_TIMEOUT)
        return str(info.get("Version", "unknown"))

    async def info(self) -> dict[str, Any]:
        with _engine_errors():
            return dict(await asyncio.wait_for(self.docker.system.info(), REQUEST_TIMEOUT))

    # --- images -------------------------------------------------------------------------------

    async def image_id(self, ref: str) -> str | None:
        """The id of image `ref`, or None when the engine has no such image."""
        try:
            with _engine_errors():
                data = await asyncio.wait_for(self.docker.images.inspect(ref), REQUEST_TIMEOUT)
        except EngineError as exc:
            if isinstance(exc.__cause__, aiodocker.DockerError) and exc.__cause__.status == 404:
                return None
            raise
        return str(data["Id"])

    async def pull(self, ref: str) -> AsyncIterator[str]:
        """Pull `ref`, yielding progress lines."""
        with _engine_errors():
            async for line in self.docker.images.pull(ref, stream=True):
                text = line.get("status") or line.get("error") or ""
                if line.get("error"):
                    raise EngineError(f"Pull of {ref} failed: {line['error']}")
                if text and "progress" not in line:
                    yield f"{text} {line.get('id', '')}".strip()

    async def push(self, ref: str) -> AsyncIterator[str]:
        """Push `ref` to its registry, yielding progress lines."""
        repo, _, tag = ref.rpartition(":") if "/" not in ref.rpartition(":")[2] else (ref, "", "")
        with _engine_errors():
            async for line in self.docker.images.push(repo, tag=tag or None, stream=True):
                if line.get("error"):
                    raise EngineError(f"Push of {ref} failed: {line['error']}")
                text = line.get("status") or ""
                if text and "progress" not in line:
                    yield f"{text} {line.get('id', '')}".strip()

    async def in_registry(self, ref: str) -> bool:
        """Whether `ref`'s registry has it (the engine asks, with its own TLS and credentials);
        EngineError when the registry or the engine cannot say."""
        try:
            with _engine_errors():
                await asyncio.wait_for(
                    self.docker._query_json(f"distribution/{ref}/json"), REQUEST_TIMEOUT)
        except EngineError as exc:
            cause = exc.__cause__
            if isinstance(cause, aiodocker.DockerError) and cause.status in (401, 403, 404):
                return False
            if isinstance(cause, aiodocker.DockerError) and "manifest unknown" in str(cause):
                return False
            raise
        return True

    async def tag(self, source: str, repo: str, tag: str) -> None:
        with _engine_errors():
            await self.docker.images.tag(source, repo, tag=tag)

    async def import_image(self, tarball: Any, ref: str, change: str) -> None:
        """Create image `ref` from a root filesystem tarball (bytes or an async iterator of
        bytes), applying one Dockerfile instruction `change` (e.g. ENV PATH=...)."""
        # The tag follows the last colon unless that colon is a registry's port.
        repo, _, tag = ref.rpartition(":") if "/" not in ref.rpartition(":")[2] else (ref, "", "")
        params = {"fromSrc": "-", "repo": repo, "tag": tag or "latest", "changes": change}
        with _engine_errors():
            async with _aiodocker.raw_request(
                self.docker, "images/create",
                method="POST",
                params=params,
                data=tarball,
                headers={"Content-Type": "application/x-tar"},
                timeout=aiohttp.ClientTimeout(total=None),
            ) as response:
                body = await response.read()
        for line in body.decode(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                if "error" in json.loads(line):
                    raise EngineError(f"Import of {ref} failed: {line}")

    async def build(
        self,
        context: bytes,
        tag: str,
        labels: Mapping[str, str],
        buildargs: Mapping[str, str] | None = None,
    ) -> AsyncIterator[str]:
        """Build an image from a tar `context`, yielding its log line by line.

        Raises BuildError with the whole log when a step fails.
        """
        logs: list[str] = []
        pending = ""  # a line the engine sent in pieces (a step's stderr comes so)
        try:
            stream = self.docker.images.build(
                fileobj=io.BytesIO(context),
                encoding="identity",
                tag=tag,
                labels={SERVICE: "1", **labels},
                buildargs=dict(buildargs or {}),
                rm=True,
                forcerm=True,
                stream=True,
                timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
            )
            async for item in stream:
                if "error" in item:
                    logs.append(str(item["error"]))
                    raise BuildError(f"Build of {tag} failed: {item['error']}".strip(),
                                     "".join(logs))
                if item.get("stream"):
                    text = _ANSI.sub("", str(item["stream"]))
                elif item.get("status"):
                    text = _ANSI.sub("", str(item["status"])) + "\n"  # whole lines, unended
                else:
                    continue
                logs.append(text)
                *lines, pending = (pending + text).split("\n")
                for line in lines:
                    if line.strip():
                        yield line.rstrip("\r")
            if pending.strip():
                yield pending
        except BuildError:
            raise
        except aiodocker.DockerError as exc:
            # The engine reports a failed step as an error in the build's stream.
            logs.append(str(exc.message))
            raise BuildError(f"Build of {tag} failed: {exc.message}".strip(), "".join(logs)) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _engine_error(exc) from exc

    async def remove_image(self, ref: str) -> bool:
        """Remove an image; False when it was already gone or is in use."""
        try:
            with _engine_errors():
                await self.docker.images.delete(ref, force=False)
        except EngineError:
            return False
        return True

    async def list_images(self, label: str = SERVICE) -> list[dict[str, Any]]:
        with _engine_errors():
            return list(
                await self.docker.images.list(filters=json.dumps({"label": [label]}))
            )

    # --- containers ---------------------------------------------------------------------------

    async def list_containers(self, label: str = SERVICE) -> list[dict[str, Any]]:
        """Every container (running or not) that carries `label`."""
        with _engine_errors():
            containers = await self.docker.containers.list(
                all=True, filters=json.dumps({"label": [label]})
            )
        return [_aiodocker.container_data(c) for c in containers]

    async def remove_container(self, container_id: str) -> None:
        """Kill and remove a container; quiet when it is already gone. When another removal of
        it is under way (the engine answers 409), returns once that one is done: a caller
        that removes before it exits (the service's shutdown) leaves nothing behind."""
        self.calls["remove"] += 1
        try:
            await asyncio.wait_for(
                self.docker.containers.container(container_id).delete(force=True, v=True),
                REQUEST_TIMEOUT,
            )
        except aiodocker.DockerError as exc:
            if exc.status == 409 and "in progress" in str(exc.message):
                await self._removed(container_id)
            elif exc.status not in (404, 409):
                log.warning("could not remove container %s: %s", container_id[:12], exc.message)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("could not remove container %s: %r", container_id[:12], exc)

    async def _removed(self, container_id: str) -> None:
        """Wait until the engine has removed a container whose removal is under way."""
        self.calls["wait"] += 1
        try:
            await self.docker.containers.container(container_id).wait(
                condition="removed", timeout=REQUEST_TIMEOUT)
        except (aiodocker.DockerError, TimeoutError, aiohttp.ClientError, OSError) as exc:
            # 404: gone already. Else the sweep at the next start finds it.
            if not (isinstance(exc, aiodocker.DockerError) and exc.status == 404):
                log.info("removal of container %s not seen to end: %r", container_id[:12], exc)

    async def kill_signals(self, container_id: str, since: float) -> list[str]:
        """The signals the engine sent the container since `since` (epoch seconds), from its
        event log: how to tell a run stopped from outside (the engine shutting down, an
        administrator's `docker stop`) from a program that died of a signal on its own."""
        self.calls["events"] += 1
        params = {"since": f"{since:.9f}", "until": f"{time.time():.9f}",
                  "filters": json.dumps({"container": [container_id], "event": ["kill"]})}
        with _engine_errors():
            async with _aiodocker.raw_request(
                self.docker, "events", method="GET", params=params,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            ) as response:
                body = await response.read()
        signals = []
        for line in body.decode(errors="replace").splitlines():
            with contextlib.suppress(ValueError, AttributeError):
                signals.append(str(json.loads(line)["Actor"]["Attributes"].get("signal", "")))
        return signals

    async def update_limits(self, container_id: str, memory: int, nano_cpus: int) -> None:
        """Change a container's memory (and swap, kept equal) and CPU quota."""
        self.calls["update"] += 1
        body = json.dumps({"Memory": memory, "MemorySwap": memory, "NanoCpus": nano_cpus})
        with _engine_errors():
            async with _aiodocker.raw_request(
                self.docker, f"containers/{container_id}/update", method="POST", data=body,
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            ) as response:
                await response.read()

    async def wait(self, container_id: str) -> int | None:
        """Wait for the container to stop; its exit code (None if the engine gives none)."""
        self.calls["wait"] += 1
        with _engine_errors():
            status = await self.docker.containers.container(container_id).wait()
        code = status.get("StatusCode")
        return None if code is None else int(code)

    async def oom_killed(self, container_id: str) -> bool:
        """Whether the kernel's OOM killer ended the container (from its inspect)."""
        self.calls["inspect"] += 1
        with _engine_errors():
            data = await self.docker.containers.container(container_id).show()
        return bool((data.get("State") or {}).get("OOMKilled"))

    async def kill(self, container_id: str) -> None:
        """SIGKILL the container."""
        self.calls["kill"] += 1
        with _engine_errors():
            await self.docker.containers.container(container_id).kill(signal="SIGKILL")

    def remove_soon(self, container_id: str, stopping: bool = False) -> asyncio.Future[None]:
        """Remove a container in the background (off the run's critical path); tracked so that
        it is not collected, and awaited by close(). Returns a future that is done once the
        container no longer runs, for the run's slot to wait on (`gate.Slot.free`).

        With `stopping` (its run has ended: the boot command is exiting, or has exited), the
        removal first waits for the engine to report the stop, at most STOP_WAIT. A container
        removed while it still runs is killed first, which costs the engine a call to the OCI
        runtime and its events: removed at its trailer, most runs' containers were."""
        stopped: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def remove() -> None:
            try:
                if stopping:
                    with contextlib.suppress(EngineError, TimeoutError):
                        await asyncio.wait_for(self.wait(container_id), STOP_WAIT)
                        stopped.set_result(None)
                await self.remove_container(container_id)
            finally:
                if not stopped.done():
                    stopped.set_result(None)

        self._in_background(remove())
        return stopped

    def _in_background(self, cleanup: Coroutine[Any, Any, None]) -> None:
        """Run a cleanup off the caller's path, held until it ends and awaited by close()."""
        task = asyncio.ensure_future(cleanup)
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def _create(self, config: dict[str, Any], name: str | None = None) -> Any:
        """Create a container (aiodocker's handle on it).

        The engine goes on creating a container when the client that asked hangs up, so a
        caller cancelled during the request (a warm pool closing, a client gone) would leave
        a container nobody knows the id of. The request is shielded instead: it goes on in
        the background, and the container it makes is removed as soon as its id is known.
        """
        self.calls["create"] += 1
        request = asyncio.ensure_future(self.docker.containers.create(config=config, name=name))
        try:
            return await asyncio.shield(request)
        except asyncio.CancelledError:
            self._in_background(self._remove_once_made(request))
            raise

    async def _remove_once_made(self, request: asyncio.Future[Any]) -> None:
        try:
            container = await asyncio.wait_for(request, REQUEST_TIMEOUT)
        except Exception:  # no container was made, or the engine is gone
            return
        await self.remove_container(container.id)

    async def start(self, config: dict[str, Any]) -> Attached:
        """Create a container, attach to its streams and start it: it then waits for input.

        EngineError when the engine fails; a container made before the failure is removed.
        """
        container_id: str | None = None
        try:
            with _engine_errors():
                container = await self._create(config)
                container_id = container.id
                self.calls["attach"] += 1
                stream = await _aiodocker.open_attach(container)
                self.calls["start"] += 1
                await container.start()
        except BaseException:
            if container_id is not None:
                self.remove_soon(container_id)
            raise
        return Attached(self, container_id, AttachChannel(stream), config)

    async def run(
        self, config: dict[str, Any], stdin: bytes, time_limit: float,
        mark: bytes | None = None,
    ) -> AsyncIterator[Output | Exit]:
        """Start a fresh container and feed it `stdin` (see Attached.feed)."""
        attached = await self.start(config)
        async for item in attached.feed(stdin, time_limit, mark):
            yield item


