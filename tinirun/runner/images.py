"""The images a run needs: the base, one runtime per language, dependency images and
function images. Each is built once and found again by a tag derived from what it contains.

Building yields progress as chunks (info, debug) and ends with an `ImageReady`.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import shlex
import shutil
import tarfile
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tinirun.engine.container import PATH
from tinirun.engine.docker import Engine
from tinirun.errors import BuildError, EngineError
from tinirun.labels import KIND, LANG, Kind
from tinirun.languages import Language
from tinirun.metrics import Metrics
from tinirun.models import Chunk

log = logging.getLogger(__name__)

BASE_TAG = "tinirun-base:trixie"
CA_PATH = "/tmp/tinirun-ca.crt"
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
class ImageReady:
    """The last item of an image stream: the tag to run."""

    tag: str


ImageProgress = Chunk | ImageReady


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _tar(files: dict[str, bytes | str], modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = (modes or {}).get(name, 0o644)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def ca_env_script(has_ca: bool) -> str:
    """Shell lines that make package managers trust the CA bundle while they install."""
    if not has_ca:
        return ":"
    exports = " ".join(f"{k}={v}" for k, v in _CA_ENV.items())
    apt = f"echo 'Acquire::https::CAInfo \"{CA_PATH}\";' > /etc/apt/apt.conf.d/99tinirun-ca"
    return f"export {exports}; if [ -d /etc/apt/apt.conf.d ]; then {apt}; fi"


def install_script(language: Language, dependencies: Sequence[str]) -> str:
    """The shell command that installs `dependencies` for `language` (its folder's rewrite
    rules applied to each entry)."""
    quoted = " ".join(shlex.quote(dep) for dep in language.install_entries(dependencies))
    return language.install.replace("{deps}", quoted)


def _checked(script: str) -> str:
    """`script` run in a subshell so that any failing step fails the image build (a shell's
    `set -e` does not stop at a failure inside an `&&` list)."""
    return f"( {script} ) || exit $?"


def dependency_dockerfile(runtime_tag: str, language: Language, dependencies: Sequence[str],
                          has_ca: bool) -> str:
    """Dockerfile of an image with `dependencies` installed on the runtime image.

    The CA bundle is copied in for the install and removed in the same step, so the finished
    image does not hold it.
    """
    lines = [f"FROM {runtime_tag}", "USER root", f"COPY ca.crt {CA_PATH}"]
    cleanup = f"rm -f {CA_PATH} /etc/apt/apt.conf.d/99tinirun-ca"
    if dependencies:
        install = f"{ca_env_script(has_ca)}; {install_script(language, dependencies)}"
        lines.append(f"RUN if ( {install} ); then {cleanup}; else rc=$?; {cleanup}; exit $rc; fi")
    else:
        lines.append(f"RUN {cleanup}")
    return "\n".join(lines) + "\n"


def function_dockerfile(base_tag: str, language: Language) -> str:
    """Dockerfile of a function's image: on its dependency image (or the runtime), the code
    in /app, compiled. It needs no network and no CA: the dependencies are installed."""
    build = language.function.build or ":"
    return (f"FROM {base_tag}\nUSER root\nCOPY app/ /app/\n"
            f"RUN cd /app && {_checked(build)} && chmod -R a+rX /app\nWORKDIR /app\n")


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
    ) -> None:
        self.engine = engine
        self.metrics = metrics or Metrics()
        self.base_image = base_image
        self.overrides = dict(overrides or {})
        self.extra_ca_bundle = extra_ca_bundle
        self._locks: dict[str, asyncio.Lock] = {}
        # When each dependency image was last used (epoch seconds), for cleanup by age.
        self._used: dict[str, float] = {}

    def last_used(self, tag: str) -> float:
        return self._used.get(tag, 0.0)

    # --- the CA bundle ------------------------------------------------------------------------

    def ca_bundle(self) -> bytes:
        """Public CAs plus the extra bundle, or nothing when no extra bundle is set."""
        if self.extra_ca_bundle is None:
            return b""
        extra = self.extra_ca_bundle.read_bytes()
        return _certifi_bundle() + b"\n" + extra

    # --- tags ---------------------------------------------------------------------------------

    def runtime_tag(self, language: Language) -> str:
        """The runtime image of `language`: the configured override, or ours by content."""
        if language.name in self.overrides:
            return self.overrides[language.name]
        return f"tinirun-runtime-{language.name}:{_digest(BASE_TAG, language.dockerfile)}"

    def dependency_tag(self, language: Language, dependencies: Sequence[str]) -> str:
        runtime = self.runtime_tag(language)
        return f"tinirun-deps-{language.name}:{_digest(runtime, *dependencies)}"

    # --- ensuring images ----------------------------------------------------------------------

    def _lock(self, tag: str) -> asyncio.Lock:
        return self._locks.setdefault(tag, asyncio.Lock())

    async def ensure_base(self) -> AsyncIterator[ImageProgress]:
        """The Debian base: present, else pulled, else made with debootstrap."""
        async with self._lock(BASE_TAG):
            if await self.engine.image_id(BASE_TAG):
                yield ImageReady(BASE_TAG)
                return
            yield Chunk.info(f"Pulling base image {self.base_image}...")
            try:
                async for line in self.engine.pull(self.base_image):
                    yield Chunk.debug(line)
                repo, _, tag = BASE_TAG.partition(":")
                await self.engine.tag(self.base_image, repo, tag)
                yield ImageReady(BASE_TAG)
                return
            except EngineError as exc:
                yield Chunk.debug(f"pull failed: {exc}")
            yield Chunk.info("No registry reachable: making the base with debootstrap...")
            async for line in self._debootstrap():
                yield Chunk.debug(line)
            yield ImageReady(BASE_TAG)

    async def _debootstrap(self) -> AsyncIterator[str]:
        if shutil.which("debootstrap") is None:
            raise EngineError(
                f"Cannot get a base image: pulling {self.base_image} failed and debootstrap "
                "is not installed (install it, or make the image reachable)"
            )
        if os.geteuid() != 0:
            raise EngineError(
                f"Cannot get a base image: pulling {self.base_image} failed and debootstrap "
                "needs root (run `tinirun images build` as root once)"
            )
        with tempfile.TemporaryDirectory(prefix="tinirun-base-") as tmp:
            root = Path(tmp) / "rootfs"
            process = await asyncio.create_subprocess_exec(
                "debootstrap", "--variant=minbase", "trixie", str(root),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )
            assert process.stdout is not None
            output: list[str] = []
            async for raw in process.stdout:
                line = raw.decode(errors="replace").rstrip()
                output.append(line)
                yield line
            if await process.wait() != 0:
                raise BuildError("debootstrap failed", "\n".join(output[-50:]))
            # Stream the root filesystem straight into the engine.
            tar = await asyncio.create_subprocess_exec(
                "tar", "-C", str(root), "-c", ".", stdout=asyncio.subprocess.PIPE
            )
            try:
                assert tar.stdout is not None
                await self.engine.import_image(
                    _iter_stream(tar.stdout), BASE_TAG,
                    change=f"ENV PATH={PATH}",
                )
            finally:
                await tar.wait()
            yield f"imported {BASE_TAG}"

    async def ensure_runtime(self, language: Language) -> AsyncIterator[ImageProgress]:
        """The runtime image of `language`, built (or pulled, for an override) if missing."""
        tag = self.runtime_tag(language)
        if await self.engine.image_id(tag):
            yield ImageReady(tag)
            return
        async with self._lock(tag):
            if await self.engine.image_id(tag):
                yield ImageReady(tag)
                return
            if language.name in self.overrides:
                yield Chunk.info(f"Pulling runtime image {tag}...")
                async for line in self.engine.pull(tag):
                    yield Chunk.debug(line)
                yield ImageReady(tag)
                return
            async for item in self.ensure_base():
                if isinstance(item, Chunk):
                    yield item
            yield Chunk.info(f"Building {language.name} runtime image (once)...")
            context = _tar({"Dockerfile": language.dockerfile, "extra-ca.crt": self.ca_bundle()})
            with self.metrics.build("runtime"):
                async for line in self.engine.build(
                    context, tag, labels={KIND: Kind.RUNTIME, LANG: language.name},
                    buildargs={"BASE": BASE_TAG},
                ):
                    yield Chunk.debug(line)
            yield ImageReady(tag)

    async def ensure_dependencies(
        self, language: Language, dependencies: Sequence[str]
    ) -> AsyncIterator[ImageProgress]:
        """The image of `language` with `dependencies`; without any, the runtime image."""
        runtime: str | None = None
        async for item in self.ensure_runtime(language):
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
            yield Chunk.info(f"Installing dependencies: {' '.join(dependencies)}")
            ca = self.ca_bundle()
            dockerfile = dependency_dockerfile(runtime, language, dependencies, bool(ca))
            context = _tar({"Dockerfile": dockerfile, "ca.crt": ca})
            with self.metrics.build("dependencies"):
                async for line in self.engine.build(
                    context, tag,
                    labels={KIND: Kind.DEPENDENCIES, LANG: language.name},
                ):
                    yield Chunk.debug(line)
            yield ImageReady(tag)

    async def build_function(
        self, language: Language, tag: str, code: str, dependencies: Sequence[str],
        labels: dict[str, str],
    ) -> AsyncIterator[ImageProgress]:
        """Build a function's image: its dependency image (shared with one-off runs of the
        same list), then the wrapper and the code, compiled."""
        base: str | None = None
        async for item in self.ensure_dependencies(language, dependencies):
            if isinstance(item, ImageReady):
                base = item.tag
            else:
                yield item
        assert base is not None
        spec = language.function
        files: dict[str, bytes | str] = {
            "Dockerfile": function_dockerfile(base, language),
            f"app/{spec.wrapper}": language.read(spec.wrapper),
            f"app/{spec.file}": code,
        }
        for name, content in spec.files.items():
            files[f"app/{name}"] = content
        modes = {f"app/{spec.file}": 0o755}
        yield Chunk.info(f"Building function image {tag}...")
        with self.metrics.build("function"):
            async for line in self.engine.build(
                _tar(files, modes), tag, labels={KIND: Kind.FUNCTION, **labels}
            ):
                yield Chunk.debug(line)
        yield ImageReady(tag)


async def _iter_stream(stream: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while block := await stream.read(1024 * 1024):
        yield block

