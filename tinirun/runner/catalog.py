"""The languages this service runs, as `GET /api/languages` describes them: each folder's data
and its runtime's version as the image reports it.

The version comes from the language's `version` command, run once per runtime image (the tag
names the image's content, so the answer holds for as long as the tag does); a language whose
image is not built yet has no version until it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from tinirun.engine.docker import Engine
from tinirun.engine.output import Output
from tinirun.errors import EngineError
from tinirun.languages import Language
from tinirun.models import (
    DependencyInfo,
    DiagnosticInfo,
    EditorInfo,
    FunctionFileInfo,
    LanguageInfo,
    RunLimits,
)
from tinirun.runner import boot
from tinirun.runner.images import ImageManager
from tinirun.runner.run import Runner

log = logging.getLogger(__name__)

VERSION_TIMEOUT = 30
MAX_VERSION_LENGTH = 200


def describe(language: Language, version: str | None) -> LanguageInfo:
    """What the API says of `language` (pure: the folder's data plus the version given)."""
    spec = language.spec
    return LanguageInfo(
        name=language.name,
        version=version,
        extension=spec.extensions[0],
        extensions=list(spec.extensions),
        source=spec.source,
        compiled=bool(spec.compile),
        dependencies=DependencyInfo(manager=spec.dependencies.manager,
                                    syntax=spec.dependencies.syntax),
        example=language.example_code,
        diagnostics=[DiagnosticInfo(**d.model_dump()) for d in spec.diagnostics],
        editor=EditorInfo(mode=spec.editor.mode, indent=spec.editor.indent),
        function=FunctionFileInfo(file=spec.function.file, sample=language.sample_code),
    )


class LanguageCatalog:
    """Describes the service's languages; reads each runtime image's version once."""

    def __init__(self, languages: Mapping[str, Language], engine: Engine, images: ImageManager,
                 runner: Runner) -> None:
        self.languages = dict(languages)
        self.engine = engine
        self.images = images
        self.runner = runner
        self._versions: dict[str, asyncio.Task[str | None]] = {}

    async def describe_all(self) -> list[LanguageInfo]:
        versions = await asyncio.gather(*(self.version(lang) for lang in self.languages.values()))
        return [describe(language, version)
                for language, version in zip(self.languages.values(), versions, strict=True)]

    async def version(self, language: Language) -> str | None:
        """The runtime's version; None while its image is not built (or cannot be asked)."""
        tag = self.images.runtime_tag(language)
        task = self._versions.get(tag)
        if task is None:
            try:
                if not await self.engine.image_id(tag):
                    return None
            except EngineError:
                return None
            task = self._versions.get(tag)
            if task is None:
                task = asyncio.ensure_future(self._read_version(language, tag))
                self._versions[tag] = task
        version = await asyncio.shield(task)
        if version is None and self._versions.get(tag) is task:
            del self._versions[tag]  # asked again next time
        return version

    async def _read_version(self, language: Language, tag: str) -> str | None:
        script = f"#!/bin/sh\nexec 2>&1\n{language.spec.version}\n"
        config = self.runner.config_for(tag, language.env, RunLimits(timeout=VERSION_TIMEOUT))
        output = bytearray()
        exit_code: int | None = None
        try:
            payload = boot.pack({}, script, VERSION_TIMEOUT, None)
            async for item in self.engine.run(config, payload.data, VERSION_TIMEOUT,
                                              boot.marker(payload.nonce)):
                if isinstance(item, Output):
                    output += item.data
                else:
                    exit_code = item.exit_code
        except EngineError as exc:
            log.warning("reading the version of %s failed: %s", language.name, exc)
            return None
        text = output.decode(errors="replace").strip()
        if exit_code != 0 or not text:
            log.warning("the version command of %s ended with %s: %s", language.name,
                        exit_code, text[:200])
            return None
        return text.splitlines()[0].strip()[:MAX_VERSION_LENGTH]

    async def close(self) -> None:
        for task in self._versions.values():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

