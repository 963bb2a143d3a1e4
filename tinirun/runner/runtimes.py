"""The images every run starts from: the Debian base and one runtime image per language.

The base is present, else pulled, else made with debootstrap; a language's runtime image is
built on it from the language folder's Dockerfile (or pulled, for a configured override). On a
new machine the first run of a language waits for these builds, a minute or more, so the stream
says what it waits for and about how long it takes (the folder's `image_seconds`), then the
build's steps and, while a step runs long, the time so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from tinirun.engine.container import PATH
from tinirun.engine.docker import Engine
from tinirun.errors import BuildError, EngineError
from tinirun.labels import KIND, LANG, Kind
from tinirun.languages import Language
from tinirun.metrics import Metrics
from tinirun.models import Chunk

BASE_TAG = "tinirun-base:trixie"
# About how long debootstrap takes to make the base (2 cores, a nearby Debian mirror).
BASE_SECONDS = 40
# While a build step runs longer than this, the stream says how long it has been.
HEARTBEAT_SECONDS = 10.0
_STEP = re.compile(r"Step (\d+)/(\d+) : (.*)")


@dataclass(frozen=True)
class ImageReady:
    """The last item of an image stream: the tag to run."""

    tag: str


ImageProgress = Chunk | ImageReady


def digest(*parts: str) -> str:
    """A short content hash for image tags."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def tar(files: dict[str, bytes | str], modes: dict[str, int] | None = None) -> bytes:
    """A build context: `files` by name (mode 0644 unless `modes` says otherwise)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = (modes or {}).get(name, 0o644)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _about(seconds: int | None) -> str:
    if seconds is None:
        return "a minute or more"
    return f"about {seconds} s" if seconds < 120 else f"about {round(seconds / 60)} min"


class Runtimes:
    """The base and the runtime images: found by tag, else pulled or built, one build per
    tag at a time."""

    def __init__(self, engine: Engine, base_image: str, overrides: dict[str, str],
                 ca_bundle: Callable[[], bytes], metrics: Metrics) -> None:
        self.engine = engine
        self.base_image = base_image
        self.overrides = dict(overrides)
        self.ca_bundle = ca_bundle
        self.metrics = metrics
        self._locks: dict[str, asyncio.Lock] = {}

    def tag(self, language: Language) -> str:
        """The runtime image of `language`: the configured override, or ours by content."""
        if language.name in self.overrides:
            return self.overrides[language.name]
        return f"tinirun-runtime-{language.name}:{digest(BASE_TAG, language.dockerfile)}"

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
            yield Chunk.info("No registry reachable: making the Debian base with debootstrap, "
                             f"once ({_about(BASE_SECONDS)})...")
            started = time.monotonic()
            async for said in _heartbeat(self._debootstrap(), started):
                yield said if isinstance(said, Chunk) else Chunk.debug(said)
            yield Chunk.info(f"Made the Debian base in {time.monotonic() - started:.0f} s")
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
            # debootstrap leaves the packages it installed in apt's cache (32 MB).
            for package in (root / "var/cache/apt/archives").glob("*.deb"):
                package.unlink()
            # Stream the root filesystem straight into the engine.
            archive = await asyncio.create_subprocess_exec(
                "tar", "-C", str(root), "-c", ".", stdout=asyncio.subprocess.PIPE
            )
            try:
                assert archive.stdout is not None
                await self.engine.import_image(
                    _iter_stream(archive.stdout), BASE_TAG, change=f"ENV PATH={PATH}",
                )
            finally:
                await archive.wait()
            yield f"imported {BASE_TAG}"

    async def ensure(self, language: Language) -> AsyncIterator[ImageProgress]:
        """The runtime image of `language`, built (or pulled, for an override) if missing."""
        tag = self.tag(language)
        if await self.engine.image_id(tag):
            yield ImageReady(tag)
            return
        lock = self._lock(tag)
        if lock.locked():
            yield Chunk.info(f"Waiting for the {language.name} runtime image, which another "
                             f"run is building ({_about(language.spec.image_seconds)} in all)...")
        async with lock:
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
            async for chunk in self._build(language, tag):
                yield chunk
            yield ImageReady(tag)

    async def _build(self, language: Language, tag: str) -> AsyncIterator[Chunk]:
        about = _about(language.spec.image_seconds)
        yield Chunk.info(f"Building the {language.name} runtime image, once on this machine "
                         f"({about})...")
        context = tar({"Dockerfile": language.dockerfile, "extra-ca.crt": self.ca_bundle()})
        started = time.monotonic()
        lines = self.engine.build(context, tag, labels={KIND: Kind.RUNTIME, LANG: language.name},
                                  buildargs={"BASE": BASE_TAG})
        with self.metrics.build("runtime"):
            async for line in _heartbeat(lines, started):
                if isinstance(line, Chunk):
                    yield line
                elif step := _STEP.match(line):
                    number, steps, instruction = step.groups()
                    words = instruction if len(instruction) <= 60 else instruction[:57] + "..."
                    yield Chunk.info(f"step {number}/{steps}: {words} "
                                     f"({time.monotonic() - started:.0f} s)")
                else:
                    yield Chunk.debug(line)
        yield Chunk.info(f"Built the {language.name} runtime image in "
                         f"{time.monotonic() - started:.0f} s")


async def _heartbeat(lines: AsyncIterator[str], started: float) -> AsyncIterator[str | Chunk]:
    """`lines`, with an info chunk saying the time so far whenever none came for a while."""
    iterator = aiter(lines)
    pending: asyncio.Task[str] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=HEARTBEAT_SECONDS)
            if not done:
                yield Chunk.info(f"... still building ({time.monotonic() - started:.0f} s)")
                continue
            try:
                line = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield line
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        closing = getattr(lines, "aclose", None)
        if closing is not None:
            await closing()


async def _iter_stream(stream: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while block := await stream.read(1024 * 1024):
        yield block
