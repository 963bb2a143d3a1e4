"""The images a run needs: the base and one runtime per language (tinirun.runner.runtimes),
dependency images and function images (confined builds, tinirun.runner.builds). Each is built
once and found again by a tag derived from what it contains.

Building yields progress as chunks (info, debug) and ends with an `ImageReady`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tinirun.engine.container import BuildLimits, Isolation
from tinirun.engine.docker import Engine
from tinirun.errors import BuildError, EngineError, InvalidRequestError
from tinirun.labels import KIND, LANG, Kind
from tinirun.languages import Language
from tinirun.metrics import Metrics
from tinirun.models import Chunk
from tinirun.runner.builds import Builder, Committed
from tinirun.runner.egress import (
    PROXY_DOCKERFILE,
    REFUSED_RANGES,
    AllowedHost,
    EgressProxy,
    host_addresses,
    proxy_env,
    uncovered,
)
from tinirun.runner.gate import BuildGate
from tinirun.runner.install_errors import build_failure, install_failure
from tinirun.runner.runtimes import BASE_TAG, ImageProgress, ImageReady, Runtimes, digest, tar

log = logging.getLogger(__name__)

CA_PATH = "/tmp/tinirun-ca.crt"
# apt's configuration for one install (proxy, CA), in the build's /tmp: never in the image.
APT_CONFIG_PATH = "/tmp/tinirun-apt.conf"
PROXY_REPO = "tinirun-proxy"
# Environment that makes each package manager trust the bundle at CA_PATH.
_CA_ENV = {
    "SSL_CERT_FILE": CA_PATH,
    "PIP_CERT": CA_PATH,
    "REQUESTS_CA_BUNDLE": CA_PATH,
    "CURL_CA_BUNDLE": CA_PATH,
    "NODE_EXTRA_CA_CERTS": CA_PATH,
    "npm_config_cafile": CA_PATH,
    "CARGO_HTTP_CAINFO": CA_PATH,
    "GIT_SSL_CAINFO": CA_PATH,
}


@dataclass(frozen=True)
class BuildSettings:
    """How image builds are bounded and where installs may reach."""

    limits: BuildLimits = field(default_factory=BuildLimits)
    slots: int = 2
    queue_size: int = 16
    installs: bool = True
    allow_hosts: tuple[AllowedHost, ...] = ()
    refused_ranges: tuple[str, ...] = ()
    proxy_image: str | None = None
    install_env: tuple[tuple[str, str], ...] = ()
    isolation: Isolation = field(default_factory=Isolation)


class SharedImages(Protocol):
    """Images shared by the nodes of a cluster (tinirun.cluster.images): built once on one
    node, pushed, pulled by the others."""

    def once(self, tag: str, build: Callable[[], AsyncIterator[ImageProgress]]
             ) -> AsyncIterator[ImageProgress]:
        """`tag` pulled if another node built it, else built here (one node at a time) and
        pushed."""
        ...

    async def fetch(self, tag: str) -> bool:
        """Pull `tag` if it is not here; False when the registry has none either."""
        ...

    async def exists(self, tag: str) -> bool:
        """Whether `tag` is here or in the registry."""
        ...


def install_script(language: Language, dependencies: Sequence[str]) -> str:
    """The shell command that installs `dependencies` for `language` (its folder's rewrite
    rules applied to each entry)."""
    quoted = " ".join(shlex.quote(dep) for dep in language.install_entries(dependencies))
    return language.install.replace("{deps}", quoted)


def _certifi_bundle() -> bytes:
    try:
        import certifi

        return Path(certifi.where()).read_bytes()
    except (ImportError, OSError):
        return b""


class ImageManager:
    """Finds or builds the images runs need; one build at a time per tag."""

    def __init__(
        self,
        engine: Engine,
        base_image: str = "debian:trixie-slim",
        overrides: dict[str, str] | None = None,
        extra_ca_bundle: Path | None = None,
        metrics: Metrics | None = None,
        builds: BuildSettings | None = None,
    ) -> None:
        self.engine = engine
        self.metrics = metrics or Metrics()
        self.builds = builds or BuildSettings()
        self.builder = Builder(engine, self.builds.isolation, self.builds.limits)
        self.gate = BuildGate(self.builds.slots, self.builds.queue_size)
        self._proxy: EgressProxy | None = None
        self.extra_ca_bundle = extra_ca_bundle
        self.runtimes = Runtimes(engine, base_image, dict(overrides or {}), self.ca_bundle,
                                 self.metrics)
        self._locks: dict[str, asyncio.Lock] = {}
        # When each dependency image was last used (epoch seconds), for cleanup by age.
        self._used: dict[str, float] = {}
        # Set when the service is a node of a cluster.
        self.shared: SharedImages | None = None

    async def available(self, tag: str) -> bool:
        """Whether `tag` can run here: present, or pulled from the cluster's registry."""
        if await self.engine.image_id(tag):
            return True
        return self.shared is not None and await self.shared.fetch(tag)

    async def exists(self, tag: str) -> bool:
        """Whether `tag` is here, or (in a cluster) in the registry."""
        if await self.engine.image_id(tag):
            return True
        return self.shared is not None and await self.shared.exists(tag)

    def last_used(self, tag: str) -> float:
        return self._used.get(tag, 0.0)

    def touch(self, tag: str) -> None:
        """`tag` was just used (a function run): for cleanup by age and by total size."""
        self._used[tag] = time.time()

    # --- the CA bundle ------------------------------------------------------------------------

    def ca_bundle(self) -> bytes:
        """Public CAs plus the extra bundle, or nothing when no extra bundle is set."""
        if self.extra_ca_bundle is None:
            return b""
        extra = self.extra_ca_bundle.read_bytes()
        return _certifi_bundle() + b"\n" + extra

    # --- tags ---------------------------------------------------------------------------------

    def runtime_tag(self, language: Language) -> str:
        """The runtime image of `language` (tinirun.runner.runtimes)."""
        return self.runtimes.tag(language)

    def dependency_tag(self, language: Language, dependencies: Sequence[str]) -> str:
        runtime = self.runtime_tag(language)
        return f"tinirun-deps-{language.name}:{digest(runtime, language.install, *dependencies)}"

    # --- ensuring images ----------------------------------------------------------------------

    def _lock(self, tag: str) -> asyncio.Lock:
        return self._locks.setdefault(tag, asyncio.Lock())

    def ensure_runtime(self, language: Language) -> AsyncIterator[ImageProgress]:
        """The runtime image of `language`, built (or pulled) if missing, with progress."""
        return self.runtimes.ensure(language)

    async def ensure_dependencies(
        self, language: Language, dependencies: Sequence[str]
    ) -> AsyncIterator[ImageProgress]:
        """The image of `language` with `dependencies`; without any, the runtime image."""
        runtime: str | None = None
        async for item in self.runtimes.ensure(language):
            if isinstance(item, ImageReady):
                runtime = item.tag
            else:
                yield item
        assert runtime is not None
        if not dependencies:
            yield ImageReady(runtime)
            return
        tag = self.dependency_tag(language, dependencies)
        self._used[tag] = time.time()
        if await self.engine.image_id(tag):
            yield Chunk.info("Using cached dependency image")
            yield ImageReady(tag)
            return
        lock = self._lock(tag)
        if lock.locked():
            yield Chunk.info("Waiting for the same dependencies to finish installing...")
        async with lock:
            if await self.engine.image_id(tag):
                yield ImageReady(tag)
                return
            build = self._dependency_build(runtime, tag, language, dependencies)
            if self.shared is not None:
                build = self.shared.once(tag, lambda: self._dependency_build(
                    runtime, tag, language, dependencies))
            async for item in build:
                yield item

    async def _dependency_build(self, runtime: str, tag: str, language: Language,
                                dependencies: Sequence[str]) -> AsyncIterator[ImageProgress]:
        yield Chunk.info(f"Installing dependencies: {' '.join(dependencies)}")
        with self.metrics.build("dependencies"), _said_by(language.dependency_manager):
            async for item in self._build(
                base=runtime, tag=tag, what="Installing dependencies",
                steps=install_script(language, dependencies), language=language,
                labels={KIND: Kind.DEPENDENCIES, LANG: language.name},
                files={}, install=True, output=language.install_prefix or None,
                links=language.install_links,
            ):
                yield item
        yield ImageReady(tag)

    async def build_function(
        self, language: Language, tag: str, code: str, dependencies: Sequence[str],
        labels: dict[str, str],
    ) -> AsyncIterator[ImageProgress]:
        """Build a function's image: its dependency image (shared with one-off runs of the
        same list), then the wrapper and the code in /app, compiled without network."""
        base: str | None = None
        async for item in self.ensure_dependencies(language, dependencies):
            if isinstance(item, ImageReady):
                base = item.tag
            else:
                yield item
        assert base is not None
        spec = language.function
        files: dict[str, bytes | str] = {
            f"app/{spec.wrapper}": language.read(spec.wrapper),
            f"app/{spec.file}": code,
        }
        for name, content in spec.files.items():
            files[f"app/{name}"] = content

        async def build() -> AsyncIterator[ImageProgress]:
            yield Chunk.info("Building the function's image (code and wrapper)...")
            yield Chunk.debug(f"image {tag}")
            steps = f"cd /app && ( {spec.build or ':'} ) && chmod -R a+rX /app"
            with self.metrics.build("function"), _said_by(None):
                async for item in self._build(
                    base=base, tag=tag, what="Building the function", steps=steps,
                    language=language, labels={KIND: Kind.FUNCTION, **labels}, files=files,
                    install=False, output="/app", working_dir="/app",
                ):
                    yield item
            yield ImageReady(tag)

        async for item in build() if self.shared is None else self.shared.once(tag, build):
            yield item

    # --- builds -------------------------------------------------------------------------------

    def check_installs(self, dependencies: Sequence[str]) -> None:
        """InvalidRequestError when installs are turned off and `dependencies` asks one."""
        if dependencies and not self.builds.installs:
            raise InvalidRequestError(
                "dependencies: installs are turned off on this service (RUNNER_INSTALLS); "
                "only the runtimes' own libraries are available")

    async def needs_build(self, language: Language, dependencies: Sequence[str]) -> bool:
        """Whether a run with `dependencies` would have to install them first."""
        if not dependencies:
            return False
        try:
            return await self.engine.image_id(self.dependency_tag(language, dependencies)) is None
        except EngineError:
            return False  # the run itself says what is wrong with the engine

    async def proxy(self) -> EgressProxy:
        """The egress proxy installs go through, its image built on our base if missing."""
        if self._proxy is None:
            ranges = [*REFUSED_RANGES, *self.builds.refused_ranges]
            refused = tuple(dict.fromkeys([*ranges, *uncovered(host_addresses(), ranges)]))
            image = self.builds.proxy_image or f"{PROXY_REPO}:{digest(BASE_TAG, PROXY_DOCKERFILE)}"
            self._proxy = EgressProxy(self.engine, image, refused, self.builds.allow_hosts)
        proxy = self._proxy
        if await self.engine.image_id(proxy.image) is None:
            async with self._lock(proxy.image):
                if await self.engine.image_id(proxy.image) is None:
                    if self.builds.proxy_image:
                        async for _line in self.engine.pull(proxy.image):
                            pass
                    else:
                        async for item in self.runtimes.ensure_base():
                            if isinstance(item, Chunk):
                                log.debug("%s", item.data)
                        async for _line in self.engine.build(
                            tar({"Dockerfile": PROXY_DOCKERFILE}), proxy.image,
                            labels={KIND: Kind.PROXY}, buildargs={"BASE": BASE_TAG},
                        ):
                            pass
        return proxy

    async def _build(
        self, *, base: str, tag: str, what: str, steps: str, language: Language,
        labels: dict[str, str], files: dict[str, bytes | str], install: bool,
        output: str | None, working_dir: str | None = None,
        links: dict[str, str] | None = None,
    ) -> AsyncIterator[ImageProgress]:
        """One confined build, once a build slot is free."""
        self.gate.check()
        waiting = self.gate.wait()
        async with contextlib.aclosing(waiting):  # a hang-up while queued leaves the line
            async for chunk in waiting:
                yield chunk
        try:
            files = dict(files)
            exports: dict[str, str] = {}
            network = None
            if install:
                proxy = await self.proxy()
                url = await proxy.url()
                network = proxy.network
                exports.update(proxy_env(url))
                ca = self.ca_bundle()
                if ca:
                    files = {**files, CA_PATH.lstrip("/"): ca}
                    exports.update(_CA_ENV)
                apt = [f'Acquire::http::Proxy "{url}";', f'Acquire::https::Proxy "{url}";']
                if ca:
                    apt.append(f'Acquire::https::CAInfo "{CA_PATH}";')
                files[APT_CONFIG_PATH.lstrip("/")] = "\n".join(apt) + "\n"
                exports["APT_CONFIG"] = APT_CONFIG_PATH
                exports.update(dict(self.builds.install_env))
            async for item in self.builder.build(
                base=base, tag=tag, what=what, steps=steps, files=files,
                env=language.env, exports=exports, labels=labels, network=network,
                output=output, working_dir=working_dir, links=links,
            ):
                if isinstance(item, Committed):
                    continue
                yield item
        finally:
            self.gate.release()


@contextlib.contextmanager
def _said_by(manager: str | None) -> Iterator[None]:
    """A failed build's message in the words of the tool that failed (the package manager
    for an install, else the compiler) when it said something, else the builder's own (a time
    limit, a cap); never our commands; the log stays whole in `logs`."""
    try:
        yield
    except BuildError as exc:
        ours = str(exc)
        words = (install_failure(manager, exc.logs, ours) if manager
                 else build_failure(exc.logs, ours))
        if words == ours:
            raise
        raise BuildError(words, exc.logs) from exc
