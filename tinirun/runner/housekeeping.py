"""Housekeeping: what the service removes and repairs, at start and every cleanup interval.

- stopped containers of ours, and at start every container this installation left behind;
- dependency images unused for longer than their maximum age;
- function images that are not the latest version of a function that still exists;
- status sync: a `ready` function whose image is gone goes back to `not_built`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from tinirun.engine.docker import Engine
from tinirun.errors import EngineError, StoreUnavailableError
from tinirun.labels import FUNCTION, KIND, OWNER, VERSION, Kind, selector
from tinirun.languages import all_languages
from tinirun.runner.functions import FunctionService
from tinirun.runner.images import ImageManager
from tinirun.runner.pool import WarmPool
from tinirun.runner.run import Runner

log = logging.getLogger(__name__)


class Housekeeper:
    """Runs the cleanup passes for one installation (containers labelled with its owner id)."""

    def __init__(self, engine: Engine, images: ImageManager, runner: Runner, pool: WarmPool,
                 functions: FunctionService | None, owner: str, dependency_max_age: int,
                 image_max_total_mb: int | None = None) -> None:
        self.engine = engine
        self.images = images
        self.runner = runner
        self.pool = pool
        self.functions = functions
        self.owner = owner
        self.dependency_max_age = dependency_max_age
        self.image_max_total = None if image_max_total_mb is None else image_max_total_mb << 20

    async def at_start(self) -> None:
        """Remove containers a previous run of this installation left (e.g. after SIGKILL) and
        set functions left `building` back to `not_built`."""
        with contextlib.suppress(EngineError):
            for container in await self.engine.list_containers(selector(OWNER, self.owner)):
                await self.engine.remove_container(container["Id"])
        if self.functions is not None:
            with contextlib.suppress(StoreUnavailableError):
                fixed = await self.functions.recover()
                if fixed:
                    log.warning("%d function(s) left building were set to not_built", fixed)

    async def warm_runtimes(self) -> None:
        """Keep warm containers of every runtime image that is already built."""
        if not self.pool.enabled:
            return
        with contextlib.suppress(EngineError):
            for language in all_languages().values():
                tag = self.images.runtime_tag(language)
                if await self.engine.image_id(tag):
                    self.runner.warm(tag, language.env, self.runner.boot_for(language),
                                     compiles=language)

    async def at_stop(self) -> None:
        """Remove every container of this installation still there when the service stops
        (runs stopped at the shutdown deadline whose own removal did not get to run)."""
        with contextlib.suppress(EngineError):
            for container in await self.engine.list_containers(selector(OWNER, self.owner)):
                await self.engine.remove_container(container["Id"])

    async def run_once(self) -> None:
        """One cleanup pass; engine or store trouble is logged, never raised."""
        self.pool.retire_idle()
        try:
            await self._remove_stopped_containers()
            await self._remove_old_dependency_images()
            if self.functions is not None:
                await self._remove_stale_function_images()
            await self._evict_over_total()
            if self.functions is not None:
                await self.functions.sync_statuses()
        except (EngineError, StoreUnavailableError) as exc:
            log.warning("cleanup pass skipped: %s", exc)

    async def loop(self, interval: int) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.run_once()

    async def _remove_stopped_containers(self) -> None:
        # Only this installation's: another service on the same engine reads its own exits.
        for container in await self.engine.list_containers(selector(OWNER, self.owner)):
            state = container.get("State")
            # A container just created by a run that is about to start it is not stopped.
            young = time.time() - float(container.get("Created", 0)) < 300
            if state in ("exited", "dead") or (state == "created" and not young):
                await self.engine.remove_container(container["Id"])

    async def _remove_old_dependency_images(self) -> None:
        cutoff = time.time() - self.dependency_max_age
        for image in await self.engine.list_images(selector(KIND, Kind.DEPENDENCIES)):
            used = [self.images.last_used(tag) for tag in image.get("RepoTags") or []]
            last = max([float(image.get("Created", 0)), *used])
            if last < cutoff:
                await self.engine.remove_image(image["Id"])

    async def _evict_over_total(self) -> None:
        """Past the total size cap of dependency and function images, remove the least
        recently used first (an image in use is refused by the engine and skipped)."""
        if self.image_max_total is None:
            return
        images = [*await self.engine.list_images(selector(KIND, Kind.DEPENDENCIES)),
                  *await self.engine.list_images(selector(KIND, Kind.FUNCTION))]
        if not images:
            return
        sizes = await self.engine.image_unique_sizes()
        total = sum(sizes.get(image["Id"], 0) for image in images)

        def last_use(image: dict[str, object]) -> float:
            tags = image.get("RepoTags") or []
            assert isinstance(tags, list)
            return max([float(str(image.get("Created", 0))),
                        *(self.images.last_used(tag) for tag in tags)])

        for image in sorted(images, key=last_use):
            if total <= self.image_max_total:
                break
            if await self.engine.remove_image(image["Id"]):
                total -= sizes.get(image["Id"], 0)
                log.info("image cap: removed %s (%s)", image["Id"][:19],
                         " ".join(image.get("RepoTags") or []))

    async def _remove_stale_function_images(self) -> None:
        assert self.functions is not None
        latest: dict[str, int] = {}
        for record in await self.functions.list():
            latest[record.name] = record.version
        for image in await self.engine.list_images(selector(OWNER, self.owner)):
            labels = image.get("Labels") or {}
            if FUNCTION not in labels:
                continue
            name = labels[FUNCTION]
            version = int(labels.get(VERSION, "0") or 0)
            # An image of a version newer than the record may be a build under way: keep it.
            if name not in latest or version < latest[name]:
                await self.engine.remove_image(image["Id"])
