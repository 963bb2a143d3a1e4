"""Image builds as confined containers, committed: one code path sets every limit.

A build starts a container of the image it builds on with `build_config` (memory, CPU, pids,
time, disk, no capabilities, no-new-privileges, uid 1000, read-only root), feeds it its files
and script on stdin like a run, and streams its log. The script writes only to an output
directory, a tmpfs of the disk cap; its content is streamed out as a tar, unpacked into a
fresh container of the same base (never started) and committed. An apt install is the one
exception: it runs as root with apt's capabilities and its own layer is committed, once its
size is checked against the cap.

Installs join the install network, whose only way out is the egress proxy; function builds
have no network. A build's container is killed and removed when the build ends, times out,
or its consumer goes away (a one-off run whose client hung up).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shlex
import tarfile
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from tinirun.engine.container import PATH, BuildLimits, Isolation, build_config
from tinirun.engine.docker import Engine, Exit, Output
from tinirun.errors import BuildError
from tinirun.labels import BUILDING, KIND, SERVICE, Kind
from tinirun.models import Chunk

SCRIPT = "work/.tinirun/build.sh"
COMMAND = ["/bin/sh", "-c", f"tar -x -f - -C / && exec /bin/sh /{SCRIPT}"]
# Build log lines kept for the error a failed build reports.
LOG_LINES = 400
# Spooled tar output stays in memory up to this size, then goes to a temporary file.
SPOOL_MEMORY = 16 * 1024 * 1024


@dataclass(frozen=True)
class Committed:
    """The last item of a build: the image made."""

    tag: str


def payload(files: Mapping[str, bytes | str], script: str) -> bytes:
    """The tar fed to a build container: `files` (paths from /) and the build script."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        entries = {**files, SCRIPT: script}
        made: set[str] = set()
        for name, content in entries.items():
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                directory = "/".join(parts[:i])
                if directory not in made and directory not in ("tmp", "work"):
                    made.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600 if name.startswith("tmp/") else 0o755
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build_script(steps: str, exports: Mapping[str, str], output: str | None) -> str:
    """The script: the steps with `exports` set (logs on stderr), then the output directory
    as a tar on stdout."""
    lines = ["#!/bin/sh"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in exports.items()]
    if output is None:
        lines.append(f"( {steps} ) 2>&1 || exit $?")
    else:
        lines.append(f"( {steps} ) 1>&2 || exit $?")
        lines.append(f"exec tar -C / -cf - {output.lstrip('/')}")
    return "\n".join(lines) + "\n"


class Builder:
    """Runs build containers under one set of limits."""

    def __init__(self, engine: Engine, isolation: Isolation, limits: BuildLimits) -> None:
        self.engine = engine
        self.isolation = isolation
        self.limits = limits

    async def build(
        self, *, base: str, tag: str, what: str, steps: str, files: Mapping[str, bytes | str],
        env: Mapping[str, str], exports: Mapping[str, str], labels: Mapping[str, str],
        network: str | None, output: str | None, working_dir: str | None = None,
        links: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Chunk | Committed]:
        """Build image `tag` on `base`: yield the log as `debug` chunks, then Committed.
        BuildError says what failed (a step, the time limit, the disk cap)."""
        limits = self.limits
        config = build_config(
            base, COMMAND, {"PATH": PATH, **env}, limits, self.isolation,
            {**labels, KIND: Kind.BUILD, BUILDING: tag}, network=network, output=output,
        )
        log: list[str] = []
        pending = ""
        cap = limits.disk_mb * 1024 * 1024
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
            size = 0
            attached = await self.engine.start(config)
            feed = attached.feed(payload(files, build_script(steps, exports, output)),
                                 time_limit=limits.timeout)
            try:
                ended: Exit | None = None
                async for item in feed:
                    if isinstance(item, Output):
                        if output is not None and item.stream == 1:
                            size += len(item.data)
                            if size > cap + 1024 * 1024:
                                raise BuildError(f"{what} wrote more than the cap of "
                                                 f"{limits.disk_mb} MiB", _tail(log))
                            spool.write(item.data)
                            continue
                        pending += item.data.decode(errors="replace")
                        *lines, pending = pending.split("\n")
                        for line in lines:
                            line = line.rstrip("\r")
                            log.append(line)
                            del log[:-LOG_LINES]
                            if line.strip():
                                yield Chunk.debug(line)
                        continue
                    ended = item
                    if pending.strip():  # a last line without its newline
                        log.append(pending.rstrip("\r"))
                        yield Chunk.debug(pending.rstrip("\r"))
                    pending = ""
                    if item.timed_out:
                        raise BuildError(f"{what} timed out after {limits.timeout} s "
                                         "(RUNNER_BUILD_TIMEOUT)", _tail(log))
                    if item.oom_killed:
                        raise BuildError(f"{what} ran out of memory ({limits.memory_mb} MiB, "
                                         "RUNNER_BUILD_MEMORY_MB)", _tail(log))
                    if item.exit_code != 0:
                        reason = _tail(log).strip().splitlines()[-1:] or ["no output"]
                        raise BuildError(f"{what} failed (exit code {item.exit_code}): "
                                         f"{reason[0][:300]}", _tail(log))
                    if output is None:
                        # An apt install: its own layer, within the cap, is the image.
                        written = await self.engine.written_bytes(attached.id)
                        if written > cap:
                            raise BuildError(
                                f"{what} wrote {written // (1024 * 1024)} MiB, more than "
                                f"the cap of {limits.disk_mb} MiB (RUNNER_BUILD_DISK_MB)",
                                _tail(log))
                        await self.engine.commit(attached.id, tag,
                                                 await self._image_config(base, labels))
                assert ended is not None
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(feed.aclose())  # type: ignore[attr-defined]
            if output is not None:
                spool.seek(0)
                await self._commit_output(base, tag, spool, labels, working_dir, links or {})
        yield Committed(tag)

    async def _image_config(self, base: str, labels: Mapping[str, str],
                            working_dir: str | None = None) -> dict[str, object]:
        image = await self.engine.image_config(base)
        config: dict[str, object] = {
            key: image.get(key) for key in ("Env", "Cmd", "Entrypoint", "User", "WorkingDir")
        }
        if working_dir:
            config["WorkingDir"] = working_dir
        config["Labels"] = {**(image.get("Labels") or {}), SERVICE: "1", **labels}
        return config

    async def _commit_output(self, base: str, tag: str, tarball: object,
                             labels: Mapping[str, str], working_dir: str | None,
                             links: Mapping[str, str]) -> None:
        """Unpack the build's output on a fresh container of `base` and commit it."""
        target = await self.engine.create({
            "Image": base, "Cmd": ["/bin/true"], "Entrypoint": [],
            "Labels": {SERVICE: "1", **self.isolation.extra_labels, **labels},
            "NetworkDisabled": True, "HostConfig": {"NetworkMode": "none"},
        })
        try:
            await self.engine.put_archive(target, "/", tarball)
            if links:
                await self.engine.put_archive(target, "/", _links(links))
            await self.engine.commit(target, tag,
                                     await self._image_config(base, labels, working_dir))
        finally:
            await asyncio.shield(self.engine.remove_container(target))


def _links(links: Mapping[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, target in links.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


def _tail(log: list[str]) -> str:
    return "\n".join(log[-LOG_LINES:]) + "\n"
