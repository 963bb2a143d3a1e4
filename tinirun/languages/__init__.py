"""Languages are data: one folder each, holding a Dockerfile, a function wrapper and sample,
and a `language.toml` that says how a snippet is compiled and run.

Adding a language is adding a folder here; nothing else names the languages one by one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from pathlib import Path

LANGUAGES_DIR = Path(__file__).parent


@dataclass(frozen=True)
class FunctionSpec:
    """How a named function of this language is built into an image and called."""

    file: str
    sample: str
    wrapper: str
    run: str
    build: str = ""
    files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Language:
    """One runtime: where its files are, and the shell commands that compile and run a snippet."""

    name: str
    folder: Path
    extensions: tuple[str, ...]
    source: str
    run: str
    compile: str
    env: dict[str, str]
    install: str
    # The package manager whose grammar a dependency follows (tinirun.dependencies).
    dependency_manager: str
    dependency_options: tuple[str, ...]
    keep_dependency_order: bool
    function: FunctionSpec
    files: dict[str, str] = field(default_factory=dict)
    example: str = ""  # file of a complete program, the playground's starting snippet

    @property
    def example_code(self) -> str:
        return self.read(self.example) if self.example else ""

    @property
    def dockerfile(self) -> str:
        return (self.folder / "Dockerfile").read_text()

    def read(self, name: str) -> str:
        """A file of this language's folder (wrapper, sample)."""
        return (self.folder / name).read_text()

    @property
    def sample_code(self) -> str:
        return self.read(self.function.sample)


def _load(folder: Path) -> Language:
    data = tomllib.loads((folder / "language.toml").read_text())
    deps = data.get("dependencies", {})
    fn = data["function"]
    return Language(
        name=data["name"],
        folder=folder,
        extensions=tuple(data.get("extensions", [])),
        source=data["source"],
        run=data["run"],
        compile=data.get("compile", ""),
        env=dict(data.get("env", {})),
        install=deps["install"],
        dependency_manager=deps.get("manager", ""),
        dependency_options=tuple(deps.get("options", [])),
        keep_dependency_order=bool(deps.get("keep_order", False)),
        function=FunctionSpec(
            file=fn["file"],
            sample=fn["sample"],
            wrapper=fn["wrapper"],
            run=fn["run"],
            build=fn.get("build", ""),
            files=dict(fn.get("files", {})),
        ),
        files=dict(data.get("files", {})),
        example=data.get("example", ""),
    )


@cache
def all_languages() -> dict[str, Language]:
    """Every language folder, by name."""
    found = {}
    for toml in sorted(LANGUAGES_DIR.glob("*/language.toml")):
        language = _load(toml.parent)
        found[language.name] = language
    return found


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
