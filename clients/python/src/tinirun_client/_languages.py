"""A language the service runs, as GET /languages describes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tinirun_client._json import Json, get, object_of

__all__ = ["Dependencies", "Diagnostic", "LanguageInfo"]


@dataclass(frozen=True, kw_only=True)
class Dependencies:
    """How a language installs dependencies: its package `manager` and the `syntax` of one."""

    manager: str
    syntax: str


@dataclass(frozen=True, kw_only=True)
class Diagnostic:
    """How to find a compiler's or interpreter's message in a run's output: a Python regular
    expression for one line, with named groups `line` and maybe `column`, `message`,
    `severity`, `file`. A `message_pattern` names the message on the nearest line before or
    after (`message_at`); `severity` is the default one; `column_base` 0 when columns count
    from 0 (docs/languages.md says how they are applied)."""

    pattern: str
    message_pattern: str = ""
    message_at: str = "after"
    severity: str = "error"
    column_base: int = 1

    @classmethod
    def from_json(cls, data: Json) -> Diagnostic:
        return cls(pattern=get(data, "pattern", str),
                   message_pattern=get(data, "message_pattern", str, ""),
                   message_at=get(data, "message_at", str, "after"),
                   severity=get(data, "severity", str, "error"),
                   column_base=get(data, "column_base", int, 1))


@dataclass(frozen=True, kw_only=True)
class LanguageInfo:
    """One language the service runs (GET /languages)."""

    name: str
    version: str
    extension: str
    source: str
    compiled: bool
    dependencies: Dependencies
    example: str
    diagnostics: tuple[Diagnostic, ...] = ()
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> LanguageInfo:
        data = object_of(data, "a language")
        deps = object_of(get(data, "dependencies", Mapping, {}), "its dependencies")
        patterns = get(data, "diagnostics", list, [])
        return cls(
            name=get(data, "name", str), version=get(data, "version", str, ""),
            extension=get(data, "extension", str, ""), source=get(data, "source", str, ""),
            compiled=get(data, "compiled", bool, False),
            dependencies=Dependencies(manager=get(deps, "manager", str, ""),
                                      syntax=get(deps, "syntax", str, "")),
            example=get(data, "example", str, ""),
            diagnostics=tuple(Diagnostic.from_json(object_of(p, "a diagnostic")) for p in patterns),
            raw=data,
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.raw)
