"""Languages are data: one folder each, holding a Dockerfile, a function wrapper and sample,
and a `language.toml` (schema: `tinirun.languages.spec`) that says how a snippet is compiled
and run, how its dependencies are installed and how its diagnostics read.

Adding a language is adding a folder here, or to the directory RUNNER_LANGUAGES_DIR names;
nothing else names the languages one by one (docs/languages.md).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from tinirun.dependencies import CHECKERS
from tinirun.languages.spec import (
    DependencySpec,
    DiagnosticSpec,
    EditorSpec,
    FunctionSpec,
    LanguageError,
    LanguageSpec,
    LauncherSpec,
)

__all__ = [
    "BUILTIN_DIR", "LANGUAGES_DIR_ENV", "DiagnosticSpec", "EditorSpec", "FunctionSpec",
    "Language", "LanguageError", "LanguageName", "all_languages", "get_language",
    "language_for_extension", "languages_dir", "load_language", "load_languages",
]

# The languages shipped with tinirun: the folders beside this file.
BUILTIN_DIR = Path(__file__).parent
# The setting that points the service at another directory of language folders.
LANGUAGES_DIR_ENV = "RUNNER_LANGUAGES_DIR"


@dataclass(frozen=True)
class Language:
    """One runtime: its folder and its checked `language.toml`."""

    folder: Path
    spec: LanguageSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def extensions(self) -> tuple[str, ...]:
        return self.spec.extensions

    @property
    def source(self) -> str:
        return self.spec.source

    @property
    def run(self) -> str:
        return self.spec.run

    @property
    def compile(self) -> str:
        return self.spec.compile

    @property
    def launcher(self) -> LauncherSpec | None:
        return self.spec.launcher

    @property
    def env(self) -> dict[str, str]:
        return self.spec.env

    @property
    def files(self) -> dict[str, str]:
        return self.spec.files

    @property
    def function(self) -> FunctionSpec:
        return self.spec.function

    @property
    def dependencies(self) -> DependencySpec:
        return self.spec.dependencies

    @property
    def install(self) -> str:
        return self.spec.dependencies.install

    @property
    def dependency_manager(self) -> str:
        return self.spec.dependencies.manager

    @property
    def install_prefix(self) -> str:
        return self.spec.dependencies.prefix

    @property
    def install_links(self) -> dict[str, str]:
        return self.spec.dependencies.links

    @property
    def dependency_options(self) -> tuple[str, ...]:
        return self.spec.dependencies.options

    @property
    def keep_dependency_order(self) -> bool:
        return self.spec.dependencies.keep_order

    @property
    def editor(self) -> EditorSpec:
        return self.spec.editor

    @property
    def diagnostics(self) -> tuple[DiagnosticSpec, ...]:
        return self.spec.diagnostics

    @property
    def example(self) -> str:
        return self.spec.example

    @property
    def example_code(self) -> str:
        return self.read(self.spec.example)

    @property
    def sample_code(self) -> str:
        return self.read(self.spec.function.sample)

    @property
    def dockerfile(self) -> str:
        return (self.folder / "Dockerfile").read_text()

    def read(self, name: str) -> str:
        """A file of this language's folder (wrapper, sample, example)."""
        return (self.folder / name).read_text()

    def install_entries(self, dependencies: Sequence[str]) -> list[str]:
        """The entries as the package manager takes them (the folder's rewrite rules applied)."""
        return [self.spec.dependencies.rewritten(entry) for entry in dependencies]


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def load_language(folder: Path) -> Language:
    """The language of `folder`; LanguageError names the file and the key that are wrong."""
    path = folder / "language.toml"
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LanguageError(f"{path}: {exc}") from None
    try:
        spec = LanguageSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_location(error['loc'])}: "
            + ("unknown key" if error["type"] == "extra_forbidden" else error["msg"])
            for error in exc.errors()
        )
        raise LanguageError(f"{path}: {problems}") from None
    if spec.dependencies.manager not in CHECKERS:
        # Each manager has a grammar that keeps URLs, paths and options out of its entries.
        raise LanguageError(f"{path}: dependencies.manager: {spec.dependencies.manager!r} is "
                            f"not one of {', '.join(sorted(CHECKERS))} (tinirun.dependencies)")
    if spec.name != folder.name:
        raise LanguageError(f"{path}: name: {spec.name!r} differs from its folder's name")
    needed = {"Dockerfile", spec.example, spec.function.sample, spec.function.wrapper}
    for name in sorted(needed):
        if not (folder / name).is_file():
            raise LanguageError(f"{path}: the folder has no file {name!r}")
    return Language(folder=folder, spec=spec)


def load_languages(directory: Path) -> dict[str, Language]:
    """Every language folder of `directory` (each subfolder with a `language.toml`), by name."""
    if not directory.is_dir():
        raise LanguageError(f"{directory}: not a directory of language folders")
    found: dict[str, Language] = {}
    for toml in sorted(directory.glob("*/language.toml")):
        language = load_language(toml.parent)
        found[language.name] = language
    if not found:
        raise LanguageError(f"{directory}: no language folders (*/language.toml) in it")
    extensions: dict[str, str] = {}
    for language in found.values():
        for extension in language.extensions:
            if extension in extensions:
                raise LanguageError(f"{language.folder / 'language.toml'}: extensions: "
                                    f"{extension!r} is also {extensions[extension]}'s")
            extensions[extension] = language.name
    return found


def languages_dir() -> Path:
    """The directory the service takes its languages from: RUNNER_LANGUAGES_DIR, else ours."""
    raw = os.environ.get(LANGUAGES_DIR_ENV, "").strip()
    return Path(raw).expanduser() if raw else BUILTIN_DIR


@cache
def all_languages() -> dict[str, Language]:
    """The service's languages, by name (read once: the request schema is built from them)."""
    return load_languages(languages_dir())


def get_language(name: str) -> Language:
    """The language called `name`; KeyError when there is none."""
    return all_languages()[name]


# The set of names as an Enum, for request schemas and the OpenAPI document.
LanguageName = Enum(  # type: ignore[misc]
    "LanguageName", {name: name for name in all_languages()}, type=str
)


def language_for_extension(extension: str) -> Language | None:
    """The language whose files end in `extension` (without the dot), if any."""
    extension = extension.lower().lstrip(".")
    for language in all_languages().values():
        if extension in language.extensions:
            return language
    return None
