"""Functions: named programs whose image (runtime, dependencies, code) is built once and
then run many times with an input on standard input.

A build runs as a task of its own, so a client hanging up does not stop it, and it always
ends by setting the status (ready or error) of the version it built — never leaving
`building` behind. A build of an older version never overwrites a newer one's status.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from tinirun.engine.docker import Engine
from tinirun.errors import (
    BuildError,
    EngineError,
    FunctionNotReadyError,
    NotFoundError,
)
from tinirun.labels import FUNCTION, VERSION, selector
from tinirun.languages import Language, get_language
from tinirun.models import (
    Chunk,
    ChunkEvent,
    ErrorData,
    ErrorKind,
    FunctionDetail,
    FunctionInfo,
    RunLimits,
)
from tinirun.runner import boot
from tinirun.runner.images import ImageManager, ImageReady
from tinirun.runner.pool import WarmPool
from tinirun.runner.run import Runner
from tinirun.store.base import FunctionRecord, Store
from tinirun.validation import validate_dependencies

log = logging.getLogger(__name__)

NOT_BUILT: dict[str, Any] = {"type": "not_built"}
BUILDING: dict[str, Any] = {"type": "building"}
# A build's log lines kept for a client that joins late or for the error status.
BUILD_LOG_LIMIT = 200_000


def now() -> str:
    """The current time, RFC 3339 in UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def image_repo(name: str) -> str:
    """Image repository of a function, valid for every name the API accepts: the name's
    letters and digits in lower case, each run of anything else one `-` (Docker allows no
    separator at either end, nor two kinds side by side), plus a hash of the exact name, since
    names are case-sensitive and `a_b` and `a-b` are different functions."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"tinirun-fn-{slug}-{digest}" if slug else f"tinirun-fn-{digest}"


def image_tag(name: str, version: int) -> str:
    return f"{image_repo(name)}:v{version}"


def info_of(record: FunctionRecord) -> FunctionInfo:
    return FunctionInfo.model_validate(
        {
            "lang": record.lang,
            "description": record.description,
            "status": record.status,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "version": record.version,
        }
    )


def detail_of(record: FunctionRecord) -> FunctionDetail:
    return FunctionDetail.model_validate(
        {
            **info_of(record).model_dump(),
            "code": record.code,
            "dependencies": " ".join(record.dependencies) if record.dependencies else None,
        }
    )


class FunctionService:
    """Create, update, build, run and delete functions."""

    def __init__(self, store: Store, engine: Engine, images: ImageManager, runner: Runner,
                 pool: WarmPool, labels: dict[str, str] | None = None) -> None:
        self.store = store
        self.engine = engine
        self.images = images
        self.runner = runner
        self.pool = pool
        # Labels every function image carries (the installation that owns it).
        self.labels = dict(labels or {})
        self._builds: set[asyncio.Task[None]] = set()

    async def close(self, grace: float | None = None) -> None:
        """Wait for builds under way (they set their status when they end); after `grace`
        seconds, cancel them (a cancelled build sets `not_built`)."""
        if not self._builds:
            return
        builds = list(self._builds)
        _, pending = await asyncio.wait(builds, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*builds, return_exceptions=True)

    # --- reading ------------------------------------------------------------------------------

    async def get(self, name: str) -> FunctionRecord:
        record = await self.store.get(name)
        if record is None:
            raise NotFoundError(f"Function {name!r} not found")
        return record

    async def list(self, offset: int = 0, limit: int | None = None) -> list[FunctionRecord]:
        return await self.store.list(offset, limit)

    # --- writing ------------------------------------------------------------------------------

    async def create(self, name: str, lang: str, code: str | None = None,
                     description: str | None = None,
                     dependencies: Sequence[str] | None = None) -> FunctionRecord:
        """Store a new function, status `building`: with `code`, or its language's sample."""
        language = get_language(lang)
        deps = validate_dependencies(language, dependencies)
        stamp = now()
        record = FunctionRecord(
            name=name, lang=language.name,
            code=language.sample_code if code is None else code, status=dict(BUILDING),
            created_at=stamp, updated_at=stamp, version=1, description=description,
            dependencies=deps,
        )
        await self.store.create(record)
        return record

    async def update(
        self, name: str, code: str, description: str | None, dependencies: Sequence[str] | None
    ) -> FunctionRecord:
        """Replace code, description and dependencies; version + 1; status `building`."""
        record = await self.get(name)
        language = get_language(record.lang)
        deps = validate_dependencies(language, dependencies)
        return await self.store.update_code(
            name, code, description, deps, updated_at=now(), status=dict(BUILDING)
        )

    async def delete(self, name: str) -> None:
        """Remove the record and every image of the function."""
        record = await self.get(name)
        await self.store.delete(name)
        await self._remove_images(record.name, keep=None)

    # --- building -----------------------------------------------------------------------------

    def build(self, record: FunctionRecord) -> AsyncIterator[Chunk]:
        """Start building `record`'s version and stream its progress. The build goes on if the
        client hangs up; its last chunk is `result`-free: `info` (ready) or `error`."""
        queue: asyncio.Queue[Chunk | None] = asyncio.Queue()
        task = asyncio.create_task(self._build(record, queue))
        self._builds.add(task)
        task.add_done_callback(self._builds.discard)
        return _drain(queue)

    async def _build(self, record: FunctionRecord, queue: asyncio.Queue[Chunk | None]) -> None:
        language = get_language(record.lang)
        tag = image_tag(record.name, record.version)
        status: dict[str, Any] = dict(NOT_BUILT)
        error: ErrorData | None = None
        logs: list[str] = []
        try:
            await queue.put(Chunk.info(f"Building function {record.name} v{record.version}..."))
            async for item in self.images.build_function(
                language, tag, record.code, record.dependencies,
                labels={**self.labels, FUNCTION: record.name,
                        VERSION: str(record.version)},
            ):
                if isinstance(item, ImageReady):
                    image_id = await self.engine.image_id(item.tag)
                    status = {"type": "ready", "tag": item.tag, "id": image_id or ""}
                else:
                    if item.event == ChunkEvent.DEBUG and isinstance(item.data, str):
                        logs.append(item.data)
                    await queue.put(item)
        except BuildError as exc:
            error = ErrorData(error=ErrorKind.BUILD_FAILED, message=str(exc),
                              logs=_tail("\n".join(logs) + "\n" + exc.logs))
        except EngineError as exc:
            error = ErrorData(error=ErrorKind.DOCKER, message=str(exc))
        except Exception as exc:  # a bug must still not leave the function `building`
            log.exception("build of %s failed", record.name)
            error = ErrorData(error=ErrorKind.DOCKER, message=f"Build failed: {exc!r}")
        finally:
            if error is not None:
                status = {"type": "error", **error.public()}
            applied = False
            with contextlib.suppress(Exception):
                applied = await asyncio.shield(
                    self.store.set_status(record.name, status, version=record.version)
                )
            # The last chunk goes out once the status is stored, so a client that stops
            # reading at it and asks for the function's info sees the final status.
            if error is not None:
                await queue.put(Chunk.error(error))
            elif status.get("type") == "ready":
                if applied:
                    await queue.put(Chunk.info(f"Function {record.name} is ready ({tag})"))
                    await self._remove_images(record.name, keep=record.version)
                else:
                    # A newer version was stored meanwhile (or the function was deleted).
                    await self.engine.remove_image(tag)
                    await queue.put(Chunk.info("A newer version replaced this build"))
            await queue.put(None)

    async def _remove_images(self, name: str, keep: int | None) -> None:
        """Remove the function's images older than version `keep` (all when None)."""
        with contextlib.suppress(EngineError):
            for image in await self.engine.list_images(selector(FUNCTION, name)):
                labels = image.get("Labels") or {}
                if any(labels.get(k) != v for k, v in self.labels.items()):
                    continue  # another installation's function of the same name
                version = int(labels.get(VERSION, "0") or 0)
                if keep is None or version < keep:
                    # Waiting containers hold the image: let them go first.
                    for tag in image.get("RepoTags") or []:
                        await self.pool.forget(tag)
                    await self.engine.remove_image(image["Id"])

    # --- running ------------------------------------------------------------------------------

    async def ready_image(self, name: str) -> tuple[FunctionRecord, str]:
        """The function and its image tag; NotFoundError or FunctionNotReadyError."""
        record = await self.get(name)
        if record.status.get("type") != "ready":
            raise FunctionNotReadyError("Function not ready")
        return record, str(record.status["tag"])

    async def run(
        self, record: FunctionRecord, tag: str, input: str, limits: RunLimits
    ) -> AsyncIterator[Chunk]:
        """Run the function's image with `input` on stdin; no install, no compile."""
        language: Language = get_language(record.lang)
        if await self.engine.image_id(tag) is None:
            await self.pool.forget(tag)  # its waiting containers outlive the tag
            with contextlib.suppress(Exception):
                await self.store.set_status(record.name, dict(NOT_BUILT), version=record.version)
            yield Chunk.error(ErrorData(
                error=ErrorKind.FUNCTION_IMAGE_NOT_FOUND,
                message=f"The image of function {record.name} was not found; update it to "
                        "rebuild", image_tag=tag,
            ))
            return
        command = language.function.run
        script = boot.run_script(language, command=command)
        async for chunk in self.runner.execute(
            tag, language.env, boot.pack({}, script, limits.timeout, input), limits,
            self.runner.boot_for(language, command),
        ):
            yield chunk

    # --- housekeeping -------------------------------------------------------------------------

    async def recover(self) -> int:
        """At start: a function left `building` by a crash goes back to `not_built`."""
        fixed = 0
        for record in await self.store.list():
            if record.status.get("type") == "building" and await self.store.set_status(
                record.name, dict(NOT_BUILT), version=record.version
            ):
                fixed += 1
        return fixed

    async def sync_statuses(self) -> int:
        """A `ready` function whose image is gone goes back to `not_built`."""
        fixed = 0
        for record in await self.store.list():
            if record.status.get("type") != "ready":
                continue
            if await self.engine.image_id(str(record.status.get("tag"))) is None and (
                await self.store.set_status(record.name, dict(NOT_BUILT), version=record.version)
            ):
                fixed += 1
        return fixed


def _tail(text: str) -> str:
    return text[-BUILD_LOG_LIMIT:]


async def _drain(queue: asyncio.Queue[Chunk | None]) -> AsyncIterator[Chunk]:
    while True:
        chunk = await queue.get()
        if chunk is None:
            return
        yield chunk
