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

from tinirun.engine.docker import Engine, OnExit
from tinirun.errors import (
    BuildError,
    EngineError,
    FunctionImageMissingError,
    FunctionNotReadyError,
    InvalidRequestError,
    NotFoundError,
)
from tinirun.failures import error_data
from tinirun.function_models import (
    FunctionDetail,
    FunctionInfo,
    FunctionStatus,
    StatusBuilding,
    StatusNotBuilt,
    StatusReady,
    status_of_error,
)
from tinirun.labels import FUNCTION, OWNER, VERSION, selector
from tinirun.languages import Language, get_language
from tinirun.models import Chunk, ChunkEvent, ErrorData, RunLimits
from tinirun.runner import boot
from tinirun.runner.images import ImageManager
from tinirun.runner.pool import WarmPool
from tinirun.runner.run import Runner
from tinirun.runner.runtimes import ImageReady
from tinirun.store.base import FunctionRecord, Store
from tinirun.validation import validate_dependencies

log = logging.getLogger(__name__)

# How often the final status of a build is tried before it is left to the sweep.
STATUS_WRITE_ATTEMPTS = 3
STATUS_RETRY_DELAY = 0.5
# A `building` status that no build of this service is behind, and no older than this, may be
# another service's build under way (on the same store); older, the sweep resets it.
STALE_BUILD_SECONDS = 3600
# A build's log lines kept for a client that joins late or for the error status.
BUILD_LOG_LIMIT = 200_000


def now() -> str:
    """The current time, RFC 3339 in UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def image_repo(name: str, installation: str = "") -> str:
    """Image repository of a function, valid for every name the API accepts: the name's
    letters and digits in lower case, each run of anything else one `-` (Docker allows no
    separator at either end, nor two kinds side by side), plus a hash of the exact name, since
    names are case-sensitive and `a_b` and `a-b` are different functions, and of the
    installation: tags are global to the engine, and two services on one engine may each have
    a function of the same name (neither may run, replace or remove the other's image)."""
    digest = hashlib.sha256(f"{installation}\0{name}".encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"tinirun-fn-{slug}-{digest}" if slug else f"tinirun-fn-{digest}"


def image_tag(name: str, version: int, installation: str = "") -> str:
    return f"{image_repo(name, installation)}:v{version}"


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
                 pool: WarmPool, labels: dict[str, str] | None = None,
                 max_functions: int | None = None, registry: str | None = None) -> None:
        self.store = store
        self.engine = engine
        self.max_functions = max_functions
        # In a cluster, function images are named in the shared registry.
        self.registry = registry
        self.images = images
        self.runner = runner
        self.pool = pool
        # Labels every function image carries (the installation that owns it).
        self.labels = dict(labels or {})
        self._builds: set[asyncio.Task[None]] = set()
        # Version of each function being built here.
        self._building: dict[str, int] = {}
        # Final statuses a build could not store (the store was down): the sweep retries them.
        self._unsaved: dict[str, tuple[int, FunctionStatus]] = {}

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
            raise NotFoundError("Not Found")
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
        self.images.check_installs(deps)
        if self.max_functions is not None and await self.store.count() >= self.max_functions:
            raise InvalidRequestError(
                f"name: at most {self.max_functions} functions may exist (RUNNER_MAX_FUNCTIONS); "
                "delete one first")
        self.images.gate.check()
        stamp = now()
        record = FunctionRecord(
            name=name, lang=language.name,
            code=language.sample_code if code is None else code, status=StatusBuilding(),
            created_at=stamp, updated_at=stamp, version=0, description=description,
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
        self.images.check_installs(deps)
        self.images.gate.check()
        return await self.store.update_code(
            name, code, description, deps, updated_at=now(), status=StatusBuilding()
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
        self._building[record.name] = record.version
        self._unsaved.pop(record.name, None)

        def done(task: asyncio.Task[None]) -> None:
            self._builds.discard(task)
            if self._building.get(record.name) == record.version:
                del self._building[record.name]

        task.add_done_callback(done)
        return _drain(queue)

    async def _build(self, record: FunctionRecord, queue: asyncio.Queue[Chunk | None]) -> None:
        language = get_language(record.lang)
        tag = image_tag(record.name, record.version, self.labels.get(OWNER, ""))
        if self.registry:
            tag = f"{self.registry}/{tag}"
        status: FunctionStatus = StatusNotBuilt()
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
                    status = StatusReady(tag=item.tag, id=image_id or "")
                else:
                    if item.event == ChunkEvent.DEBUG and isinstance(item.data, str):
                        logs.append(item.data)
                    await queue.put(item)
        except BuildError as exc:
            error = error_data(BuildError(str(exc), _tail("\n".join(logs) + "\n" + exc.logs)))
        except Exception as exc:  # a bug must still not leave the function `building`
            error = error_data(exc)
        finally:
            if error is not None:
                status = status_of_error(error)
            applied = await asyncio.shield(self._store_final(record, status))
            # The last chunk goes out once the status is stored, so a client that stops
            # reading at it and asks for the function's info sees the final status.
            if error is not None:
                await queue.put(Chunk.error(error))
            elif isinstance(status, StatusReady):
                if applied is None:
                    await queue.put(Chunk.debug(f"image {tag}"))
                    await queue.put(Chunk.info(f"Function {record.name} is built; its status "
                                               "is stored once the store answers"))
                elif applied:
                    await queue.put(Chunk.debug(f"image {tag}"))
                    await queue.put(Chunk.info(f"Function {record.name} is ready"))
                    await self._remove_images(record.name, keep=record.version)
                else:
                    # A newer version was stored meanwhile (or the function was deleted).
                    await self.engine.remove_image(tag)
                    await queue.put(Chunk.info("A newer version replaced this build"))
            await queue.put(None)

    async def _store_final(self, record: FunctionRecord, status: FunctionStatus) -> bool | None:
        """Store the status a build ended with, trying again a few times: whether it applied
        (False: a newer version is stored). If the store stays down: None, logged, and left to
        the sweep (`sync_statuses`) to store later."""
        for attempt in range(STATUS_WRITE_ATTEMPTS):
            try:
                return await self.store.set_status(record.name, status, version=record.version)
            except Exception as exc:
                if attempt + 1 == STATUS_WRITE_ATTEMPTS:
                    log.error("could not store the status of %s v%d (%s); the cleanup pass "
                              "will try again", record.name, record.version, exc)
                    self._unsaved[record.name] = (record.version, status)
                    return None
                await asyncio.sleep(STATUS_RETRY_DELAY * 2 ** attempt)
        return None

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
        if not isinstance(record.status, StatusReady):
            raise FunctionNotReadyError("Function not ready")
        return record, record.status.tag

    async def run(
        self, record: FunctionRecord, tag: str, input: str, limits: RunLimits,
        on_exit: OnExit | None = None,
    ) -> AsyncIterator[Chunk]:
        """Run the function's image with `input` on stdin; no install, no compile. `on_exit`:
        see `Runner.execute`."""
        language: Language = get_language(record.lang)
        self.images.touch(tag)
        try:
            if self.images.shared is not None and not await self.engine.image_id(tag):
                yield Chunk.info("Pulling the function's image from the cluster's registry...")
            available = await self.images.available(tag)
        except EngineError as exc:
            yield Chunk.error(error_data(exc))
            return
        if not available:
            await self.pool.forget(tag)  # its waiting containers outlive the tag
            with contextlib.suppress(Exception):
                await self.store.set_status(record.name, StatusNotBuilt(), version=record.version)
            yield Chunk.error(error_data(FunctionImageMissingError(
                f"The image of function {record.name} was not found; update it to rebuild", tag)))
            return
        command = language.function.run
        script = boot.run_script(language, command=command)
        async for chunk in self.runner.execute(
            tag, language.env, boot.pack({}, script, limits.timeout, input), limits,
            self.runner.boot_for(language, command), on_exit=on_exit,
        ):
            yield chunk

    # --- housekeeping -------------------------------------------------------------------------

    async def recover(self) -> int:
        """At start: a function left `building` by a crash goes back to `not_built`."""
        fixed = 0
        for record in await self.store.list():
            if isinstance(record.status, StatusBuilding) and await self.store.set_status(
                record.name, StatusNotBuilt(), version=record.version
            ):
                fixed += 1
        return fixed

    async def sync_statuses(self) -> int:
        """The sweep: store the final statuses builds could not store; a `ready` function
        whose image is gone, and a stale `building` one (no build here behind it, older than
        STALE_BUILD_SECONDS), go back to `not_built`. How many it fixed."""
        fixed = 0
        for name, (version, status) in list(self._unsaved.items()):
            if await self.store.set_status(name, status, version=version):
                fixed += 1
            self._unsaved.pop(name, None)
        for record in await self.store.list():
            status = record.status
            if isinstance(status, StatusReady):
                stale = await self.engine.image_id(status.tag) is None
                if stale and self.images is not None and self.images.shared is not None:
                    stale = not await self.images.shared.exists(status.tag)  # a cluster's
            elif isinstance(status, StatusBuilding):
                stale = (self._building.get(record.name) != record.version
                         and _age(record.updated_at) > STALE_BUILD_SECONDS)
            else:
                continue
            if stale and await self.store.set_status(record.name, StatusNotBuilt(),
                                                     version=record.version):
                fixed += 1
        return fixed


def _age(stamp: str) -> float:
    """Seconds since an RFC 3339 time (0 when it cannot be read)."""
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (datetime.now(UTC) - then).total_seconds()


def _tail(text: str) -> str:
    return text[-BUILD_LOG_LIMIT:]


async def _drain(queue: asyncio.Queue[Chunk | None]) -> AsyncIterator[Chunk]:
    while True:
        chunk = await queue.get()
        if chunk is None:
            return
        yield chunk
